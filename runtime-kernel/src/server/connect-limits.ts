import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { ServerLimits } from "../config/server-limits";

/**
 * The limits on the Connect-ES path (Connect JSON and binary, gRPC-Web, and gRPC
 * that the fast path does not take): options for connectNodeAdapter and the
 * stream limit.
 *
 * readMaxBytes bounds each request message before it is buffered whole (a larger
 * Content-Length or envelope length is refused unread) and again after
 * decompression (zlib stops at the limit), so a 1 MB gzip bomb costs 4 MiB, not
 * 1 GiB. JSON bodies are decoded as strict UTF-8: invalid bytes are
 * INVALID_ARGUMENT, as the binary path does, instead of becoming U+FFFD (which made
 * the keys ff, fe and ef bf bd one key). Lone surrogates written as \ud800 escapes
 * are already refused by protobuf-es.
 */
export function connectLimitOptions(limits: ServerLimits): {
  readMaxBytes: number;
  jsonOptions: { ignoreUnknownFields: boolean };
} {
  const jsonOptions = { ignoreUnknownFields: true, textDecoder: strictUtf8 };
  return { readMaxBytes: limits.maxReceiveMessageBytes, jsonOptions };
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

/** A TextDecoder's decode() whose failure says what is wrong with the request. */
const strictUtf8 = {
  decode(bytes: Uint8Array): string {
    try {
      return fatalDecoder.decode(bytes);
    } catch {
      throw new ConnectError("the JSON request is not valid UTF-8; strings must be UTF-8", Code.InvalidArgument);
    }
  },
};

/** Long-lived streaming calls open right now, against limits.maxSubscriptionStreams. */
export class StreamCounter {
  private open = 0;

  constructor(private readonly max: number) {}

  get count(): number {
    return this.open;
  }

  /** Takes a place or throws RESOURCE_EXHAUSTED; the returned function gives it back (once). */
  acquire(rpc: string): () => void {
    if (this.open >= this.max) {
      throw new ConnectError(
        `${rpc}: ${this.max} streams are open on this runtime already; close one or raise limits.maxSubscriptionStreams in the runtime's config`,
        Code.ResourceExhausted,
      );
    }
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
    };
  }
}

/**
 * Holds server and bidi streams to maxSubscriptionStreams. Only Connect-ES serves
 * streams (the gRPC fast path takes unary calls only), so this lives here rather
 * than in the pipeline, where it would cost every unary call a step.
 */
export function streamLimitInterceptor(streams: StreamCounter): Interceptor {
  return (next) => async (request) => {
    const kind = request.method.methodKind;
    if (kind !== "server_streaming" && kind !== "bidi_streaming") return next(request);
    const release = streams.acquire(request.method.name);
    let response;
    try {
      response = await next(request);
    } catch (error) {
      release();
      throw error;
    }
    if (!response.stream) {
      release();
      return response;
    }
    return { ...response, message: releaseWhenDone(response.message, release) };
  };
}

async function* releaseWhenDone<T>(messages: AsyncIterable<T>, release: () => void): AsyncIterable<T> {
  try {
    yield* messages;
  } finally {
    release();
  }
}
