import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * Enveloped requests (gRPC, gRPC-Web, Connect streaming) frame each message with
 * a flag byte and a 4-byte length. A client may set bit 0 (compressed) and
 * nothing else; Connect-ES looks at bit 0 only, so a flag of 0x80, 0x04 or 0x02
 * passed as an uncompressed message (issue 11, finding 11). The gRPC fast path
 * checks its own (unary) calls; this checks the body of every enveloped request
 * Connect-ES serves, streams included, as it is read: INTERNAL, in grpc-go's
 * words, at the first bad flag.
 */

/** Content types whose body is enveloped; gRPC-Web's text mode is base64 and decoded elsewhere. */
const enveloped = /^application\/(grpc|grpc-web|connect)(\+[\w.-]+)?\s*(;|$)/i;

export function isEnveloped(contentType: string | undefined): boolean {
  if (contentType === undefined || !enveloped.test(contentType)) return false;
  // application/connect alone is not a content type Connect uses; connect+proto and connect+json are.
  return !/^application\/connect\s*(;|$)/i.test(contentType);
}

/** Makes reading the request's body fail at the first envelope whose flag byte is not 0 or 1. */
export function checkEnvelopeFlags(request: http.IncomingMessage | http2.Http2ServerRequest): void {
  const read = request[Symbol.asyncIterator].bind(request) as () => AsyncIterator<Buffer>;
  const prefix = /^application\/grpc/i.test(request.headers["content-type"] ?? "") ? "grpc: " : "";
  async function* checked(): AsyncGenerator<Buffer> {
    /** Body bytes of the current message still to come. */
    let rest = 0;
    /** Bytes of the next envelope's 5-byte head seen so far, and the length they spell. */
    let head = 0;
    let length = 0;
    for await (const chunk of { [Symbol.asyncIterator]: read }) {
      let at = 0;
      while (at < chunk.length) {
        if (rest > 0) {
          const taken = Math.min(rest, chunk.length - at);
          rest -= taken;
          at += taken;
          continue;
        }
        const byte = chunk[at++]!;
        if (head === 0) {
          if (byte !== 0 && byte !== 1) throw new ConnectError(`${prefix}received unexpected payload format ${byte}`, Code.Internal);
          length = 0;
        } else {
          length = length * 256 + byte;
        }
        if (++head === 5) {
          head = 0;
          rest = length;
        }
      }
      yield chunk;
    }
  }
  Object.defineProperty(request, Symbol.asyncIterator, { value: checked, configurable: true });
}

/**
 * A streamed request message that cannot be parsed is INTERNAL, as on the gRPC
 * fast path, in its words: "cannot parse request", without the parser's account
 * of the bytes (issue 11, finding 11). Connect-ES parses each message of a stream
 * as the handler reads it, so the handler reads through this.
 */
export function parseErrorInterceptor(): Interceptor {
  return (next) => async (request) => {
    if (!request.stream) return next(request);
    const prefix = /^application\/grpc/i.test(request.header.get("content-type") ?? "") ? "grpc: " : "";
    return next({ ...request, message: plainParseErrors(request.message, prefix) });
  };
}

async function* plainParseErrors<T>(messages: AsyncIterable<T>, prefix: string): AsyncGenerator<T> {
  try {
    yield* messages;
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.Internal && error.rawMessage.startsWith("parse binary:")) {
      throw new ConnectError(`${prefix}cannot parse request`, Code.Internal);
    }
    throw error;
  }
}
