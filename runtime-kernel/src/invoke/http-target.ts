import { Code, ConnectError } from "@connectrpc/connect";
import { whenAborted } from "@ottavo/component-runtime";
import { forwardsResponseHeader } from "./forwarded-headers";
import { AnswerTooLarge, Http1Client, Http1Failure } from "./http1-client";
import { idempotentVerbs, type InvocationRequest, type InvocationResponse, type InvocationTarget } from "./invocation";
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
  /** Connections kept open to the service for reuse (Layotto's channel "size"); unbounded when absent. */
  readonly maxSockets?: number;
}

export const defaultMaxResponseBytes = 64 * 1024 * 1024;

/** What HTTP/1.1 can carry in a header value (RFC 9110 section 5.5: no CR, LF or NUL; node:http's rule). */
const invalidValue = /[^\t\x20-\x7e\x80-\xff]/;
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * An HTTP/1.1 service InvokeService calls: the method becomes the path under the
 * base URL, the verb and query string come from the request's http_extension, the
 * data is the body with its content type, and the caller's metadata (filtered)
 * travels as headers. Connections are kept alive and reused (Http1Client).
 */
export class HttpTarget implements InvocationTarget {
  readonly description: string;
  private readonly client: Http1Client;
  private readonly hostHeader: string;
  private readonly basePath: string;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: HttpTargetOptions) {
    const url = new URL(options.url);
    if (url.protocol !== "http:") throw new Error(`${options.url}: only http:// targets are supported`);
    this.description = options.description;
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = url.port === "" ? 80 : Number(url.port);
    this.hostHeader = url.port === "" ? url.hostname : `${url.hostname}:${port}`;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.maxResponseBytes = options.maxResponseBytes ?? defaultMaxResponseBytes;
    this.client = new Http1Client({ host, port, maxSockets: options.maxSockets ?? Infinity });
  }

  async invoke(request: InvocationRequest): Promise<InvocationResponse> {
    let head = `${request.verb} ${this.pathFor(request)} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
    for (const [name, value] of request.headers) head += headerLine(name, value);
    if (request.contentType !== "") head += headerLine("content-type", request.contentType);
    if (this.options.idHeader) head += headerLine("id", request.id);
    head += `content-length: ${request.data.byteLength}\r\n`;
    let answer;
    try {
      answer = await this.client.request({
        method: request.verb,
        head,
        body: request.data,
        watchAbort: (listener) => whenAborted(request, listener),
        maxAnswerBytes: this.maxResponseBytes,
        idempotent: idempotentVerbs.has(request.verb),
      });
    } catch (error) {
      throw this.failure(error, request);
    }
    const kept: Array<readonly [string, string]> = [];
    for (const header of answer.headers) if (forwardsResponseHeader(header[0])) kept.push(header);
    const { body } = answer;
    return {
      status: answer.status,
      contentType: answer.contentType,
      data: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      headers: kept,
    };
  }

  close(): void {
    this.client.close();
  }

  private failure(error: unknown, request: InvocationRequest): ConnectError {
    if (request.signal.aborted) return abortedCall(request.signal, this.description);
    if (error instanceof AnswerTooLarge) {
      return new ConnectError(`${this.description} answered more than ${this.maxResponseBytes} bytes`, Code.ResourceExhausted);
    }
    if (error instanceof Http1Failure) return unreachable(`cannot call ${this.description}: ${error.message}`, error, error.sent);
    return ConnectError.from(error);
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
}

/** One header line, after checking that name and value can travel in HTTP/1.1 (no CR, LF or NUL: no header injection). */
export function headerLine(name: string, value: string): string {
  if (!token.test(name)) throw new ConnectError(`InvokeService: metadata name '${name}' cannot travel as an HTTP header`, Code.InvalidArgument);
  if (invalidValue.test(value)) {
    throw new ConnectError(
      `InvokeService: the value of '${name}' holds characters an HTTP/1.1 header cannot carry (control characters or beyond Latin-1)`,
      Code.InvalidArgument,
    );
  }
  return `${name}: ${value}\r\n`;
}

/** A request line cannot hold spaces, controls or non-ASCII characters: percent-encode those, keep the rest as given. */
function escapeUnsafe(text: string): string {
  return /[^\u0021-\u007e]/.test(text) ? text.replace(/[^\u0021-\u007e]+/g, (run) => encodeURIComponent(run)) : text;
}
