import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";

type NodeServerRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeServerResponse = Parameters<typeof universalResponseToNodeResponse>[1];

/** application/grpc-web-text and application/grpc-web-text+proto (Google's grpc-web client's default mode). */
export function isGrpcWebText(contentType: string): boolean {
  return /^application\/grpc-web-text(\+proto)?(;|$)/.test(contentType);
}

/**
 * gRPC-Web's text mode, which Connect-ES does not speak: the same frames as
 * gRPC-Web, base64 in both directions. The request body is decoded and handed to
 * the route's Connect handler as binary gRPC-Web; each chunk of the answer
 * (messages, then the trailer frame) is encoded as it comes, so server streams
 * are not held back. Chunks are padded on their own, as Envoy's gRPC-Web filter
 * sends them; grpc-web clients decode group by group.
 */
export async function serveGrpcWebText(handler: UniversalHandler, request: NodeServerRequest, response: NodeServerResponse): Promise<void> {
  const universal = universalRequestFromNodeRequest(request, response, undefined, undefined);
  const header = new Headers(universal.header);
  const textType = header.get("content-type") ?? "application/grpc-web-text";
  header.set("content-type", "application/grpc-web+proto");
  const body = universal.body;
  const binary = { ...universal, header, body: isStream(body) ? decodeBase64(body) : body };
  const answer = await handler(binary);
  const answerHeader = new Headers(answer.header);
  if (answerHeader.get("content-type")?.startsWith("application/grpc-web")) answerHeader.set("content-type", textType.split(";")[0]!);
  const encoded = answer.body === undefined ? undefined : encodeBase64(isStream(answer.body) ? answer.body : once(answer.body));
  await universalResponseToNodeResponse({ ...answer, header: answerHeader, body: encoded }, response);
}

function isStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function* encodeBase64(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) {
    if (chunk.length > 0) yield Buffer.from(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString("base64"), "latin1");
  }
}

/**
 * Base64 text as it arrives, in any chunking: whole 4-character groups are
 * decoded, a padded group ends a run (clients may send several padded pieces),
 * the rest waits for the next chunk. Whitespace is ignored, as base64 allows.
 */
export async function* decodeBase64(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let pending = "";
  for await (const chunk of chunks) {
    pending += Buffer.from(chunk).toString("latin1").replace(/\s+/g, "");
    const whole = pending.length - (pending.length % 4);
    for (let at = 0; at < whole; ) {
      let end = at;
      do end += 4;
      while (end < whole && pending[end - 1] !== "=");
      yield Buffer.from(pending.slice(at, end), "base64");
      at = end;
    }
    pending = pending.slice(whole);
  }
  if (pending.length > 0) yield Buffer.from(pending, "base64");
}
