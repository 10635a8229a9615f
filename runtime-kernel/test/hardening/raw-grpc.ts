import * as http2 from "node:http2";
import * as net from "node:net";
import { gzipSync } from "node:zlib";

/** What a gRPC call answered: the grpc-status and grpc-message trailers (or headers, for a trailers-only answer). */
export interface GrpcAnswer {
  status: number;
  message: string;
  body: Buffer;
}

/**
 * One unary gRPC call over a raw HTTP/2 stream, with the request bytes as given:
 * abuse tests need framings and sizes no client library will send. `gzip`
 * compresses the message and sets grpc-encoding; `flag` overrides the envelope's
 * flag byte.
 */
export function rawGrpcCall(
  port: number,
  rpc: string,
  message: Uint8Array,
  options: { gzip?: boolean; flag?: number; headers?: http2.OutgoingHttpHeaders } = {},
): Promise<GrpcAnswer> {
  const payload = options.gzip ? gzipSync(message) : Buffer.from(message);
  const head = Buffer.alloc(5);
  head[0] = options.flag ?? (options.gzip ? 1 : 0);
  head.writeUInt32BE(payload.length, 1);
  return new Promise((resolve, reject) => {
    // A client session buffers what it writes: its 10 MB default would refuse the large bodies these tests send.
    const session = http2.connect(`http://127.0.0.1:${port}`, { maxSessionMemory: 1024 });
    session.on("error", (error) => finish(error));
    const stream = session.request({
      ":method": "POST",
      ":path": `/spec.proto.runtime.v1.Runtime/${rpc}`,
      "content-type": "application/grpc",
      te: "trailers",
      ...(options.gzip ? { "grpc-encoding": "gzip" } : {}),
      ...options.headers,
    });
    let settled = false;
    const chunks: Buffer[] = [];
    const finish = (answer: GrpcAnswer | Error) => {
      if (settled) return;
      settled = true;
      // A refused request may leave the rest of a large body unsent: the answer is in, the connection can go.
      session.destroy();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    const read = (headers: http2.IncomingHttpHeaders) => {
      if (headers["grpc-status"] === undefined) return;
      const message = headers["grpc-message"] === undefined ? "" : decodeURIComponent(String(headers["grpc-message"]));
      finish({ status: Number(headers["grpc-status"]), message, body: Buffer.concat(chunks) });
    };
    stream.on("response", read);
    stream.on("trailers", read);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => undefined);
    stream.on("close", () => finish(new Error(`no grpc-status (stream closed with code ${stream.rstCode})`)));
    // A refused request may close the stream before all is written; that is the answer, not an error.
    stream.end(Buffer.concat([head, payload]));
  });
}

/**
 * GetBulkStateRequest{store_name, keys: k0..k<count-1>} encoded by hand: protobuf-es
 * takes seconds to build a message of millions of keys, this takes milliseconds.
 */
export function bulkKeysMessage(storeName: string, count: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x0a, storeName.length]), Buffer.from(storeName)];
  const keys = Buffer.allocUnsafe(count * 12);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const key = `k${i}`;
    keys[at++] = 0x12;
    keys[at++] = key.length;
    at += keys.write(key, at, "latin1");
  }
  parts.push(keys.subarray(0, at));
  return Buffer.concat(parts);
}

/** The two protocols a raw streaming call speaks: gRPC, or Connect's streaming protocol (application/connect+proto). */
export type StreamProtocol = "grpc" | "connect";

/** How a raw streaming call ended: a gRPC status code (Connect's code names mapped to theirs), and its message. */
export interface StreamAnswer {
  status: number;
  message: string;
  /** Response messages received before the end. */
  messages: number;
}

/** Connect's error code names, in gRPC's order (code 1 is "canceled"). */
const connectCodes = [
  "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
  "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
  "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated",
];

/** An HTTP status as Connect maps it to a code, for answers that never reached the stream's end message. */
function codeOfHttpStatus(status: number): number {
  const byStatus: Record<number, number> = { 400: 13, 401: 16, 403: 7, 404: 12, 408: 4, 409: 10, 412: 9, 413: 8, 415: 13, 429: 14, 431: 8, 502: 14, 503: 14, 504: 14 };
  return byStatus[status] ?? 2;
}

/** A message in the streaming envelope: flag byte, 32-bit length, bytes. */
export function envelope(message: Uint8Array, flag = 0, length = message.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, message]);
}

/**
 * One call of a streaming rpc over a raw HTTP/2 stream, the request body given
 * as raw bytes (envelopes, or anything else). With `vanish`, the connection is
 * dropped right after the bytes are written and the promise resolves with
 * undefined; otherwise the request side is ended and the answer awaited: gRPC's
 * grpc-status, or Connect's end-of-stream message (or HTTP status).
 */
export function rawStreamCall(
  port: number,
  rpc: string,
  protocol: StreamProtocol,
  body: Uint8Array,
  options: { vanish?: boolean } = {},
): Promise<StreamAnswer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => socket, maxSessionMemory: 1024 });
    session.on("error", () => undefined);
    const stream = session.request({
      ":method": "POST",
      ":path": `/spec.proto.runtime.v1.Runtime/${rpc}`,
      "content-type": protocol === "grpc" ? "application/grpc" : "application/connect+proto",
      ...(protocol === "grpc" ? { te: "trailers" } : { "connect-protocol-version": "1" }),
    });
    stream.on("error", () => undefined);
    if (options.vanish) {
      stream.write(body, () => {
        socket.destroy();
        resolve(undefined);
      });
      return;
    }
    let settled = false;
    let httpStatus = 0;
    let received = Buffer.alloc(0);
    const finish = (answer: StreamAnswer | Error) => {
      if (settled) return;
      settled = true;
      session.destroy();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    /** Splits what came so far into envelopes: the count of messages, and Connect's end-of-stream JSON if present. */
    const envelopes = () => {
      let at = 0;
      let messages = 0;
      let end: { error?: { code?: string; message?: string } } | undefined;
      while (at + 5 <= received.length) {
        const length = received.readUInt32BE(at + 1);
        if (at + 5 + length > received.length) break;
        if ((received[at]! & 0x02) !== 0) end = JSON.parse(received.subarray(at + 5, at + 5 + length).toString("utf8")) as typeof end;
        else messages++;
        at += 5 + length;
      }
      return { messages, end };
    };
    const grpcEnd = (headers: http2.IncomingHttpHeaders) => {
      if (headers["grpc-status"] === undefined) return;
      const message = headers["grpc-message"] === undefined ? "" : decodeURIComponent(String(headers["grpc-message"]));
      finish({ status: Number(headers["grpc-status"]), message, messages: envelopes().messages });
    };
    stream.on("response", (headers) => {
      httpStatus = Number(headers[":status"]);
      if (protocol === "grpc") grpcEnd(headers);
    });
    stream.on("trailers", (headers) => protocol === "grpc" && grpcEnd(headers));
    stream.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (protocol === "connect" && httpStatus === 200) {
        const { messages, end } = envelopes();
        if (end !== undefined) {
          const code = end.error === undefined ? 0 : connectCodes.indexOf(end.error.code ?? "unknown");
          finish({ status: code < 0 ? 2 : code, message: end.error?.message ?? "", messages });
        }
      }
    });
    stream.on("close", () => {
      if (protocol === "connect" && httpStatus !== 200 && httpStatus !== 0) {
        let message = received.toString("utf8");
        try {
          const error = JSON.parse(message) as { code?: string; message?: string };
          message = error.message ?? message;
          if (error.code !== undefined && connectCodes.includes(error.code)) {
            return finish({ status: connectCodes.indexOf(error.code), message, messages: 0 });
          }
        } catch {
          // not JSON: the HTTP status is the answer
        }
        return finish({ status: codeOfHttpStatus(httpStatus), message, messages: 0 });
      }
      finish(new Error(`${rpc} over ${protocol}: no status (HTTP ${httpStatus}, stream closed with code ${stream.rstCode})`));
    });
    stream.end(body);
  });
}
