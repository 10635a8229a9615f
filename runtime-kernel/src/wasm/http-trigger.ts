import * as http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ListenAddress } from "../config/listen-address";
import { closeServer, listenOn } from "../server/listen";
import type { FunctionHost } from "./function-host";
import { readBody } from "./read-body";

/** Largest HTTP body the trigger reads; a function's own buffer cap applies after. */
const maxBodyBytes = 16 * 1024 * 1024;

/** The HTTP status of a failed function call, from its gRPC code. */
const httpStatusOf: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.NotFound]: 404,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.DeadlineExceeded]: 504,
  [Code.Unavailable]: 503,
  [Code.Unimplemented]: 501,
  [Code.FailedPrecondition]: 412,
  [Code.AlreadyExists]: 409,
  [Code.Aborted]: 409,
};

/**
 * The functions' HTTP entry (Layotto's port 2045): the `id` header names the
 * function, as in Layotto, or else the first path segment does (`/stock/...`). The
 * body goes to the function as is; its answer comes back with status 200, and a
 * failed call answers the status of its gRPC code with the error text.
 */
export class HttpTrigger {
  private constructor(
    private readonly server: http.Server,
    readonly address: ListenAddress,
  ) {}

  static async start(address: ListenAddress, functions: FunctionHost): Promise<HttpTrigger> {
    const server = http.createServer((request, response) => {
      handle(functions, request).then(
        (answer) => send(response, answer.status, answer.contentType, answer.data, answer.headers),
        (error: unknown) => {
          const e = ConnectError.from(error);
          send(response, httpStatusOf[e.code] ?? 500, "text/plain; charset=utf-8", Buffer.from(e.rawMessage), []);
        },
      );
    });
    server.keepAliveTimeout = 5_000;
    const bound = await listenOn(server, address);
    return new HttpTrigger(server, bound);
  }

  async close(): Promise<void> {
    const closed = closeServer(this.server);
    this.server.closeIdleConnections();
    await closed;
  }
}

async function handle(functions: FunctionHost, request: http.IncomingMessage) {
  const url = new URL(request.url ?? "/", "http://function");
  const header = request.headers.id;
  let id = typeof header === "string" ? header : "";
  let method = url.pathname.replace(/^\/+/, "");
  if (id === "") {
    const [first, ...rest] = method.split("/");
    id = decodeURIComponent(first);
    method = rest.join("/");
  }
  if (id === "") throw new ConnectError("name the function with an 'id' header or the first path segment (/<id>/...)", Code.NotFound);
  if (!functions.has(id)) throw new ConnectError(`no function has id '${id}'`, Code.NotFound);
  const data = await readBody(request, maxBodyBytes);
  const headers: [string, string][] = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) headers.push([request.rawHeaders[i], request.rawHeaders[i + 1]]);
  return functions.call(id, {
    method,
    verb: request.method ?? "GET",
    query: url.search.replace(/^\?/, ""),
    contentType: request.headers["content-type"] ?? "",
    data,
    headers,
  });
}

function send(response: http.ServerResponse, status: number, contentType: string, data: Uint8Array, headers: readonly (readonly [string, string])[]): void {
  if (response.headersSent || response.destroyed) return;
  const extra: Record<string, string> = {};
  for (const [k, v] of headers) if (!/^(content-length|transfer-encoding|connection|:)/i.test(k)) extra[k.toLowerCase()] = v;
  response.writeHead(status, { ...extra, "content-type": contentType || "application/octet-stream", "content-length": data.length });
  response.end(data);
}
