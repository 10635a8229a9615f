import * as http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { forwardsResponseHeader } from "./forwarded-headers";
import type { InvocationRequest, InvocationResponse, InvocationTarget } from "./invocation";
import { abortedCall, unreachable } from "./invocation-errors";

export interface HttpTargetOptions {
  /** The service's base URL (http only); the invocation's method is appended to its path. */
  readonly url: string;
  /** What the target is, for messages ("HTTP service 'HelloService:1.0'"). */
  readonly description: string;
  /** Send the invocation's id in an `id` header, as Layotto's http channel does for its router. */
  readonly idHeader?: boolean;
  /** The largest answer body read; a larger one fails the call with RESOURCE_EXHAUSTED. */
  readonly maxResponseBytes?: number;
  /** Connections kept open to the service for reuse (Layotto's channel "size"). */
  readonly maxSockets?: number;
}

export const defaultMaxResponseBytes = 64 * 1024 * 1024;

/**
 * An HTTP/1.1 service InvokeService calls: the method becomes the path under the
 * base URL, the verb and query string come from the request's http_extension, the
 * data is the body with its content type, and the caller's metadata (filtered)
 * travels as headers. Connections are kept alive and reused.
 */
export class HttpTarget implements InvocationTarget {
  readonly description: string;
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly basePath: string;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: HttpTargetOptions) {
    const url = new URL(options.url);
    if (url.protocol !== "http:") throw new Error(`${options.url}: only http:// targets are supported`);
    this.description = options.description;
    this.host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = url.port === "" ? 80 : Number(url.port);
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.maxResponseBytes = options.maxResponseBytes ?? defaultMaxResponseBytes;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? Infinity, scheduling: "lifo" });
  }

  invoke(request: InvocationRequest): Promise<InvocationResponse> {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of request.headers) {
      const had = headers[name];
      headers[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
    }
    if (request.contentType !== "") headers["content-type"] = request.contentType;
    if (this.options.idHeader) headers["id"] = request.id;
    headers["content-length"] = String(request.data.byteLength);
    const path = this.pathFor(request);
    const { signal } = request;
    return new Promise<InvocationResponse>((resolve, reject) => {
      if (signal.aborted) return reject(abortedCall(signal, this.description));
      let sent = false;
      // The caller's signal, watched only while the call runs: cheaper than http.request's
      // `signal` option, whose listener outlives the answer until the call's signal fires.
      const onAbort = () => {
        reject(abortedCall(signal, this.description));
        outgoing.destroy();
      };
      const settle = <T>(outcome: (value: T) => void) => (value: T) => {
        signal.removeEventListener("abort", onAbort);
        outcome(value);
      };
      resolve = settle(resolve);
      reject = settle(reject);
      const outgoing = http.request(
        { agent: this.agent, host: this.host, port: this.port, method: request.verb, path, headers },
        (incoming) => {
          const chunks: Buffer[] = [];
          let size = 0;
          incoming.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxResponseBytes) {
              incoming.destroy();
              outgoing.destroy();
              reject(
                new ConnectError(
                  `${this.description} answered more than ${this.maxResponseBytes} bytes`,
                  Code.ResourceExhausted,
                ),
              );
              return;
            }
            chunks.push(chunk);
          });
          incoming.on("error", (error) => reject(this.failure(error, request, true)));
          incoming.on("end", () => {
            const kept: Array<readonly [string, string]> = [];
            const raw = incoming.rawHeaders;
            for (let i = 0; i < raw.length; i += 2) {
              const name = raw[i].toLowerCase();
              if (forwardsResponseHeader(name)) kept.push([name, raw[i + 1]]);
            }
            const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
            resolve({
              status: incoming.statusCode ?? 502,
              contentType: incoming.headers["content-type"] ?? "",
              data: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
              headers: kept,
            });
          });
        },
      );
      outgoing.once("socket", (socket) => {
        // A request is "sent" once its socket is connected: before that, a retry cannot repeat it.
        if (!socket.connecting) sent = true;
        else socket.once("connect", () => (sent = true));
      });
      outgoing.on("error", (error) => reject(this.failure(error, request, sent)));
      signal.addEventListener("abort", onAbort, { once: true });
      if (request.data.byteLength === 0) outgoing.end();
      else outgoing.end(request.data);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** The base path, then the method (one "/" between), then the query (the method may carry one after "?"). */
  private pathFor(request: InvocationRequest): string {
    let method = request.method;
    let query = request.query;
    const mark = method.indexOf("?");
    if (mark >= 0) {
      const inMethod = method.slice(mark + 1);
      method = method.slice(0, mark);
      query = query === "" ? inMethod : inMethod === "" ? query : `${inMethod}&${query}`;
    }
    const path = `${this.basePath}/${method.replace(/^\/+/, "")}`;
    return escapeUnsafe(path) + (query === "" ? "" : `?${escapeUnsafe(query)}`);
  }

  private failure(error: Error, request: InvocationRequest, sent: boolean): ConnectError {
    if (request.signal.aborted) return abortedCall(request.signal, this.description);
    return unreachable(`cannot call ${this.description}: ${error.message}`, error, sent);
  }
}

/** Node refuses paths with spaces, controls or non-Latin-1 characters: percent-encode those, keep the rest as given. */
function escapeUnsafe(text: string): string {
  return /[^\u0021-\u007e]/.test(text) ? text.replace(/[^\u0021-\u007e]+/g, (run) => encodeURIComponent(run)) : text;
}
