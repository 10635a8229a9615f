import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { frameMessage } from "../server/grpc/grpc-frames";

const { NGHTTP2_CANCEL } = http2.constants;

/** What a unary call answered: the response message's bytes and the response headers as received (pseudo-headers included). */
export interface UnaryAnswer {
  readonly message: Uint8Array;
  readonly headers: Readonly<http2.IncomingHttpHeaders>;
}

/** Request metadata: lower-case names, several values as an array. */
export type Metadata = Record<string, string | string[]>;

/** Why a call failed before any answer: `sent` tells whether the request may have reached the server. */
export class ChannelFailure extends Error {
  constructor(
    message: string,
    readonly sent: boolean,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * A small gRPC client for unary calls between runtimes, on node:http2's stream
 * API: one HTTP/2 connection per peer, opened on first use and again after it
 * broke, one stream per call, the request in one frame. It does what a hop needs
 * and no more (no compression, no retries of its own), which makes it several
 * times cheaper per call than a general client (Connect-ES's, whose async
 * iterables, abort controllers and interceptors are most of a hop's cost).
 */
export class GrpcUnaryClient {
  private session: http2.ClientHttp2Session | undefined;
  private closed = false;

  constructor(private readonly url: string) {}

  /**
   * Calls `path` (/package.Service/Method) with the encoded request; rejects with
   * the server's ConnectError or a ChannelFailure (also when the call is aborted).
   * watchAbort calls its listener once on abort and answers the function that
   * stops watching, or undefined when the call is aborted already.
   */
  call(
    path: string,
    request: Uint8Array,
    metadata: Metadata,
    watchAbort: (listener: () => void) => (() => void) | undefined,
  ): Promise<UnaryAnswer> {
    return new Promise<UnaryAnswer>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream | undefined;
      let settled = false;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        unwatch?.();
        outcome();
      };
      const unwatch = watchAbort(() => {
        stream?.close(NGHTTP2_CANCEL);
        finish(() => reject(new ChannelFailure("the call was aborted", stream !== undefined)));
      });
      if (unwatch === undefined) return reject(new ChannelFailure("the call was aborted", false));
      let session: http2.ClientHttp2Session;
      try {
        session = this.connect();
      } catch (error) {
        return finish(() => reject(new ChannelFailure(String((error as Error).message), false, error)));
      }
      const headers: http2.OutgoingHttpHeaders = {
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
      };
      for (const name in metadata) headers[name] = metadata[name];
      const connected = !session.connecting;
      const opened = session.request(headers);
      stream = opened;
      const chunks: Buffer[] = [];
      let size = 0;
      let responseHeaders: http2.IncomingHttpHeaders | undefined;
      let trailers: http2.IncomingHttpHeaders | undefined;
      opened.on("response", (received) => (responseHeaders = received));
      opened.on("trailers", (received) => (trailers = received));
      opened.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
      });
      opened.on("error", (error: Error & { cause?: unknown }) => {
        // A stream cancelled because its connection failed says why in its cause (ECONNREFUSED...).
        const why = error.cause instanceof Error ? error.cause.message : error.message;
        finish(() => reject(new ChannelFailure(why, connected || responseHeaders !== undefined, error)));
      });
      opened.on("close", () =>
        finish(() => {
          if (responseHeaders === undefined) {
            return reject(new ChannelFailure(`the stream closed without an answer (code ${opened.rstCode})`, true));
          }
          // The common case, read from the raw headers: grpc-status 0 in the trailers.
          if ((trailers ?? responseHeaders)["grpc-status"] !== "0") {
            const header = toHeaders(responseHeaders);
            const error = findTrailerError(toHeaders(trailers ?? responseHeaders));
            if (error === undefined) return reject(new ConnectError("the answer carried no grpc-status", Code.Internal));
            const failure = new ConnectError(error.rawMessage, error.code, withoutProtocol(header, trailers));
            failure.details.push(...error.details);
            return reject(failure);
          }
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
          if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
            return reject(new ConnectError("the answer is not one uncompressed gRPC message", Code.Internal));
          }
          resolve({ message: body.subarray(5), headers: responseHeaders });
        }),
      );
      opened.end(frameMessage(request));
    });
  }

  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.closed) throw new Error("the client is closed");
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const { hostname, port } = new URL(this.url);
    // Nagle's algorithm would hold small frames back for the peer's delayed ACK.
    const session = http2.connect(this.url, {
      createConnection: () => net.connect({ host: hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(port), noDelay: true }),
    });
    // Failures reach the calls on it; the next call opens a new connection.
    session.on("error", () => undefined);
    session.once("close", () => {
      if (this.session === session) this.session = undefined;
    });
    session.once("goaway", () => {
      if (this.session === session) this.session = undefined;
    });
    // An idle connection must not keep the runtime's process alive.
    session.unref();
    this.session = session;
    return session;
  }
}

function toHeaders(received: http2.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(received)) {
    if (name.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.append(name, String(value));
  }
  return headers;
}

/** The metadata of an error answer: headers and trailers without gRPC's own fields. */
function withoutProtocol(header: Headers, trailers: http2.IncomingHttpHeaders | undefined): Headers {
  const metadata = new Headers();
  const add = (headers: Headers) =>
    headers.forEach((value, name) => {
      if (!name.startsWith("grpc-") && name !== "content-type" && name !== "content-length") metadata.append(name, value);
    });
  add(header);
  if (trailers !== undefined) add(toHeaders(trailers));
  return metadata;
}
