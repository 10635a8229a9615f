import * as http2 from "node:http2";
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
