import type * as http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";

/** Reads a request's whole body, refusing (RESOURCE_EXHAUSTED) and dropping the connection past maxBytes. */
export function readBody(request: http.IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new ConnectError(`the request body exceeds ${maxBytes} bytes`, Code.ResourceExhausted));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    request.on("error", reject);
  });
}
