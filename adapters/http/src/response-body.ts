/**
 * Reading a response body, decoded and bounded: the binding never holds more
 * than a limit of it, and a body it stops reading closes its connection.
 */
import type * as http from "node:http";
import { pipeline, type Readable } from "node:stream";
import { decodersFor } from "./body-decoding";

/**
 * Reads at most limit bytes of the (decoded) body. When more would follow, reading
 * stops and the response, unless it had already arrived whole, is destroyed, which
 * closes its connection; an abort destroys it too.
 */
export async function readBody(
  response: http.IncomingMessage,
  hasBody: boolean,
  limit: number,
  signal: AbortSignal,
): Promise<{ data: Uint8Array; exceeded: boolean }> {
  const onAbort = (): void => {
    response.destroy(signal.reason as Error);
  };
  if (signal.aborted) onAbort();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const decoders = hasBody ? decodersFor(response.headers["content-encoding"]) : [];
    let body: Readable = response;
    if (decoders.length > 0) {
      // pipeline destroys every stream (the response too) when one fails or the last is destroyed.
      pipeline([response, ...decoders], () => undefined);
      body = decoders[decoders.length - 1]!;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (size + chunk.byteLength > limit) {
        chunks.push(chunk.subarray(0, limit - size));
        return { data: Buffer.concat(chunks, limit), exceeded: true };
      }
      chunks.push(chunk);
      size += chunk.byteLength;
    }
    return { data: Buffer.concat(chunks, size), exceeded: false };
  } finally {
    signal.removeEventListener("abort", onAbort);
    // A no-op once the body was read to its end; otherwise stops reading and closes the connection.
    if (!response.complete) response.destroy();
  }
}
