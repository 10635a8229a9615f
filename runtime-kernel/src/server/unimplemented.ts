import type * as http from "node:http";
import type * as http2 from "node:http2";
import { grpcPercentEncode } from "./grpc-message";

type NodeServerRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** What this module uses of a response, so that connect-node's own response type fits. */
interface NodeServerResponse {
  /** Only on HTTP/2. */
  readonly stream?: Pick<http2.ServerHttp2Stream, "respond">;
  writeHead(status: number, headers: http.OutgoingHttpHeaders): unknown;
  end(body?: string | Uint8Array): unknown;
}

/**
 * The answer to a call of a service or method this server does not serve:
 * UNIMPLEMENTED in each protocol's own form, so that every client reports a
 * status rather than a transport failure (grpc-go reads a bare 404 as "server
 * closed the stream without sending trailers"). The words are grpc-go's.
 *
 * - gRPC: HTTP 200, trailers-only (grpc-status 12 and grpc-message in the one
 *   HEADERS frame that ends the stream);
 * - gRPC-Web (binary and text): the same status in the response headers, which
 *   is how gRPC-Web sends a trailers-only answer;
 * - Connect streaming: HTTP 200 and an end-of-stream message carrying the error;
 * - Connect unary, and anything else: HTTP 404 with Connect's JSON error body.
 */
export function answerUnimplemented(request: NodeServerRequest, response: NodeServerResponse, servedServices: ReadonlySet<string>): void {
  const message = unknownCallMessage(request.url ?? "/", servedServices);
  const contentType = request.headers["content-type"] ?? "";
  // Nothing of the request is read: let it flow away so that HTTP/1.1 keep-alive stays usable.
  request.resume();
  if (/^application\/grpc(-web(-text)?)?([+;]|$)/.test(contentType)) {
    const headers = { "content-type": contentType, "grpc-status": "12", "grpc-message": grpcPercentEncode(message) };
    // gRPC's trailers-only form is one HEADERS frame that ends the stream; node:http2's
    // compatibility response would end it with an empty DATA frame, which gRPC clients reject.
    if (response.stream !== undefined && !contentType.startsWith("application/grpc-web")) {
      response.stream.respond({ ":status": 200, ...headers }, { endStream: true });
      return;
    }
    response.writeHead(200, headers);
    response.end();
    return;
  }
  const error = { code: "unimplemented", message };
  if (/^application\/connect\+/.test(contentType)) {
    const json = Buffer.from(JSON.stringify({ error }));
    const frame = Buffer.alloc(5 + json.length);
    frame.writeUInt8(0b10, 0); // end of stream
    frame.writeUInt32BE(json.length, 1);
    json.copy(frame, 5);
    response.writeHead(200, { "content-type": contentType });
    response.end(frame);
    return;
  }
  response.writeHead(404, { "content-type": "application/json" });
  response.end(JSON.stringify(error));
}

/** grpc-go's words: "unknown service S", or "unknown method M for service S" when S is served. */
export function unknownCallMessage(url: string, servedServices: ReadonlySet<string>): string {
  const path = url.split("?", 1)[0]!;
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  if (match === null) return `malformed method name: ${JSON.stringify(path)}`;
  const [, service, method] = match;
  return servedServices.has(service!) ? `unknown method ${method} for service ${service}` : `unknown service ${service}`;
}
