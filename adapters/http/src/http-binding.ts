import * as http from "node:http";
import * as https from "node:https";
import { Transform, pipeline, type Readable, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";
import {
  UnreachableError,
  UnsupportedOperationError,
  type InvokeRequest,
  type InvokeResult,
} from "@ottavo/generated/components/binding";
import {
  defineHttpBindingAdapter,
  type HttpBinding,
  type HttpBindingMetadata,
} from "@ottavo/generated/components/adapters/http";
import { MetadataError } from "@ottavo/generated/components/metadata";

/** The operations, each the HTTP method of the same name. */
export const httpOperations = ["get", "head", "post", "put", "patch", "delete", "options", "trace"] as const;

/** As in Dapr's http binding, only these methods send the invocation's data as the body. */
const methodsWithBody = new Set(["post", "put", "patch"]);

/** How much of an error answer's body goes into the error message. */
const errorBodyBytes = 512;

/** Headers the binding or the connection manages itself; metadata under these names is not sent. */
const managedHeaders = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "expect",
  "te",
  "trailer",
]);

/**
 * Sent unless metadata sets them; the headers the binding sent when it used fetch
 * (less fetch's browser-only accept-language "*" and sec-fetch-mode "cors").
 */
const defaultHeaders: readonly [string, string][] = [
  ["Accept", "*/*"],
  ["User-Agent", "node"],
  ["Accept-Encoding", "gzip, deflate"],
];

/** Redirects are followed as fetch follows them: these statuses, at most 20 in a row. */
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const maxRedirects = 20;
/** Headers describing the body, dropped when a redirect turns the request into a GET without one. */
const bodyHeaders = ["content-encoding", "content-language", "content-location", "content-type"];
/** Headers not carried to another origin by a redirect. */
const credentialHeaders = ["authorization", "proxy-authorization", "cookie"];

/** Responses to HEAD and with these statuses have no body to decode. */
const statusesWithoutBody = new Set([204, 205, 304]);
/** As fetch: a response naming more content codings than this fails instead of being decoded. */
const maxContentCodings = 5;

const maxTimerMs = 2 ** 31 - 1;
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The "http" output binding, with Dapr's behaviour: the operation is the method
 * (any case), metadata "path" is appended to url, other metadata become headers
 * (names or values HTTP cannot carry, and headers the binding or the connection
 * manages, are left out). The answer's metadata holds statusCode, status ("200 OK")
 * and every response header under Go's canonical name (Content-Type), several
 * values (Set-Cookie too) joined by ", ".
 *
 * Requests go out through node:http / node:https, not fetch: fetch refuses the
 * Fetch spec's "bad ports" (6000, 6665-6669, 10080, ...), while Dapr (Go's
 * net/http) reaches any port, and so does this binding. What fetch did on top of
 * HTTP is kept: redirects are followed (301/302 turn a POST, 303 any method but
 * GET and HEAD, into a GET without a body; 307/308 resend method and body; at most
 * 20; authorization, proxy-authorization and cookie are not carried to another
 * origin), and gzip, deflate and br bodies are decoded (maxResponseBytes counts
 * decoded bytes; the response headers are left as sent).
 * A user name and password in the URL (fetch refused those URLs) are sent as
 * basic auth, as Go does: "Authorization: Basic base64(user:password)", unless
 * metadata sets Authorization itself; they never appear in messages.
 * Connections are kept alive in the binding's own pool, which close() ends.
 *
 * Failures are UnreachableError (UNAVAILABLE): a network error (its reason, such as
 * ECONNREFUSED, in the message), responseTimeout (0 means none; one timer covers the
 * whole exchange: connecting, redirects and reading the body), an answer with
 * status >= 400 (the message carries the status and the first 512 bytes of the
 * body), and a body larger than maxResponseBytes (reading stops at the limit, the
 * response is dropped, and nothing is returned).
 */
export const httpBindingAdapter = defineHttpBindingAdapter(async (metadata) => {
  const problems: string[] = [];
  let base: URL | undefined;
  try {
    base = new URL(metadata.url);
  } catch {
    // reported below
  }
  if (base === undefined || (base.protocol !== "http:" && base.protocol !== "https:")) {
    problems.push(`metadata field 'url' must be an absolute http or https URL, not ${JSON.stringify(metadata.url)}`);
  }
  if (metadata.maxResponseBytes < 0) {
    problems.push(`metadata field 'maxResponseBytes' must not be negative, not ${metadata.maxResponseBytes}`);
  }
  if (problems.length > 0) throw new MetadataError(problems);
  return new HttpOutputBinding(metadata);
});

type AbortCause = "timeout" | "close";

/** Request headers by lower-case name, each with the spelling it is sent under. */
type HeaderList = Map<string, { name: string; value: string }>;

interface Answer {
  response: http.IncomingMessage;
  /** Whether the response has a body the decoders apply to. */
  hasBody: boolean;
}

class HttpOutputBinding implements HttpBinding {
  readonly features = new Set<never>();
  private readonly base: string;
  private readonly inFlight = new Set<(cause: AbortCause) => void>();
  /** Keep-alive connection pools, one per protocol, made on first use and destroyed by close(). */
  private readonly agents = new Map<string, http.Agent>();
  private closed = false;

  constructor(private readonly metadata: HttpBindingMetadata) {
    this.base = metadata.url.replace(/\/+$/, "");
  }

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    const method = request.operation.toLowerCase();
    if (!(httpOperations as readonly string[]).includes(method)) {
      throw new UnsupportedOperationError(
        `http binding: operation '${request.operation}' is not supported; use one of ${httpOperations.join(", ")}`,
      );
    }
    const path = request.metadata["path"];
    const url = path === undefined ? this.base : `${this.base}/${path.replace(/^\/+/, "")}`;
    const what = `http binding: ${method.toUpperCase()} ${redact(url)}`;
    if (this.closed) throw new UnreachableError(`${what} was not sent: the binding is closed`);

    // One controller per request, aborted by its own timer or by close(): no signal outlives its request.
    const controller = new AbortController();
    let abortedBy: AbortCause | undefined;
    const abort = (cause: AbortCause): void => {
      abortedBy ??= cause;
      controller.abort(new Error(cause === "timeout" ? "the response timeout passed" : "the binding is closing"));
    };
    const timeout = this.metadata.responseTimeout;
    // Timers beyond 2^31-1 ms would fire at once, so longer timeouts are capped (about 24 days).
    const timer = timeout > 0 ? setTimeout(abort, Math.min(timeout, maxTimerMs), "timeout") : undefined;
    this.inFlight.add(abort);
    try {
      const { data: sent } = request;
      const body = methodsWithBody.has(method) ? Buffer.from(sent.buffer, sent.byteOffset, sent.byteLength) : undefined;
      const headers = requestHeaders(request.metadata);
      const { response, hasBody } = await this.exchange(url, method.toUpperCase(), headers, body, controller.signal);
      const status = response.statusCode ?? 0;
      if (status >= 400) {
        const { data } = await readBody(response, hasBody, errorBodyBytes, controller.signal);
        throw new UnreachableError(`${what} answered ${status}: ${new TextDecoder().decode(data)}`);
      }
      const { data, exceeded } = await readBody(response, hasBody, this.metadata.maxResponseBytes, controller.signal);
      if (exceeded) {
        throw new UnreachableError(
          `${what} answered a body larger than maxResponseBytes (${this.metadata.maxResponseBytes} bytes); raise it in the component's metadata`,
        );
      }
      return { data, metadata: responseMetadata(response) };
    } catch (err) {
      if (err instanceof UnreachableError) throw err;
      if (abortedBy === "timeout") throw new UnreachableError(`${what} timed out after ${timeout} ms`, err);
      if (abortedBy === "close") throw new UnreachableError(`${what} was cancelled: the binding is closing`, err);
      throw new UnreachableError(`${what} failed: ${failureText(err)}`, err);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(abort);
    }
  }

  // No probing: the endpoint's health is not the binding's, and a probe would cost the remote a request.
  async health(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    for (const abort of this.inFlight) abort("close");
    this.inFlight.clear();
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /** Sends the request and follows redirects; resolves with the final response, its body unread. */
  private async exchange(
    address: string,
    method: string,
    headers: HeaderList,
    body: Buffer | undefined,
    signal: AbortSignal,
  ): Promise<Answer> {
    let url = new URL(address);
    for (let redirects = 0; ; redirects++) {
      const response = await this.send(url, method, headers, body, signal);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (!redirectStatuses.has(status) || location === undefined) {
        return { response, hasBody: method !== "HEAD" && !statusesWithoutBody.has(status) };
      }
      response.destroy(); // a redirect's body is not read; its connection is not reused
      if (redirects === maxRedirects) throw new Error(`more than ${maxRedirects} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new Error(`answered ${status} with a Location that is not a URL: ${JSON.stringify(location)}`);
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new Error(`answered ${status} redirecting to a ${next.protocol} URL, which is not followed`);
      }
      if (((status === 301 || status === 302) && method === "POST") || (status === 303 && method !== "GET" && method !== "HEAD")) {
        method = "GET";
        body = undefined;
        headers = without(headers, bodyHeaders);
      }
      if (next.origin !== url.origin) headers = without(headers, credentialHeaders);
      url = next;
    }
  }

  /** One request on the wire; resolves when the response's head has arrived. */
  private send(
    url: URL,
    method: string,
    headers: HeaderList,
    body: Buffer | undefined,
    signal: AbortSignal,
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const outgoing: http.OutgoingHttpHeaders = {};
      for (const { name, value } of headers.values()) outgoing[name] = value;
      const credentials = basicAuth(url);
      if (credentials !== undefined && !headers.has("authorization")) outgoing["Authorization"] = credentials;
      if (body !== undefined) outgoing["Content-Length"] = body.byteLength;

      const request = (url.protocol === "https:" ? https : http).request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"), // IPv6 literals without brackets
        port: url.port === "" ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method,
        headers: outgoing,
        agent: this.agent(url.protocol),
      });
      const onAbort = (): void => {
        request.destroy(signal.reason as Error);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      // Stays attached after the response: a late socket error must not go unhandled.
      request.on("error", (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      });
      request.on("response", (response) => {
        signal.removeEventListener("abort", onAbort);
        resolve(response);
      });
      request.end(body);
    });
  }

  private agent(protocol: string): http.Agent {
    let agent = this.agents.get(protocol);
    if (agent === undefined) {
      // The options of Node's global agents: idle connections are dropped after 5 s (sooner if the server says so).
      const options = { keepAlive: true, scheduling: "lifo", timeout: 5000 } as const;
      agent = protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
      this.agents.set(protocol, agent);
    }
    return agent;
  }
}

function requestHeaders(metadata: Record<string, string>): HeaderList {
  const headers: HeaderList = new Map();
  for (const [key, raw] of Object.entries(metadata)) {
    const lower = key.toLowerCase();
    if (key === "path" || !headerName.test(key) || managedHeaders.has(lower)) continue;
    if (!headerValue.test(raw)) continue;
    const value = raw.replace(/^[\t ]+|[\t ]+$/g, "");
    // Names differing only in case are one header, their values joined (as fetch's Headers did).
    const known = headers.get(lower);
    headers.set(lower, known === undefined ? { name: key, value } : { name: known.name, value: `${known.value}, ${value}` });
  }
  for (const [name, value] of defaultHeaders) {
    if (!headers.has(name.toLowerCase())) headers.set(name.toLowerCase(), { name, value });
  }
  return headers;
}

function without(headers: HeaderList, names: readonly string[]): HeaderList {
  const kept = new Map(headers);
  for (const name of names) kept.delete(name);
  return kept;
}

/** Go's basic auth from the URL's user name and password (percent-decoded), or none. */
function basicAuth(url: URL): string | undefined {
  if (url.username === "" && url.password === "") return undefined;
  return `Basic ${Buffer.from(`${percentDecode(url.username)}:${percentDecode(url.password)}`).toString("base64")}`;
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function responseMetadata(response: http.IncomingMessage): Record<string, string> {
  const status = response.statusCode ?? 0;
  const metadata: Record<string, string> = {
    statusCode: String(status),
    status: `${status} ${response.statusMessage ?? ""}`.trimEnd(),
  };
  // rawHeaders has every header line as sent (Set-Cookie once per cookie); repeated ones are joined.
  const raw = response.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = canonicalHeaderName(raw[i]!);
    const value = raw[i + 1]!;
    metadata[name] = metadata[name] === undefined ? value : `${metadata[name]}, ${value}`;
  }
  return metadata;
}

/** Go's canonical form (content-type -> Content-Type), the names Dapr's binding answers with. */
function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/**
 * Reads at most limit bytes of the (decoded) body. When more would follow, reading
 * stops and the response, unless it had already arrived whole, is destroyed, which
 * closes its connection; an abort destroys it too.
 */
async function readBody(
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

/** The decoders for a Content-Encoding, in the order they apply; none when a coding is unknown (as fetch). */
function decodersFor(contentEncoding: string | undefined): Transform[] {
  if (contentEncoding === undefined) return [];
  const codings = contentEncoding
    .toLowerCase()
    .split(",")
    .map((coding) => coding.trim())
    .filter((coding) => coding !== "" && coding !== "identity");
  if (codings.length > maxContentCodings) {
    throw new Error(`too many content codings in the response: ${codings.length}, at most ${maxContentCodings} are decoded`);
  }
  const decoders: Transform[] = [];
  // The codings were applied in the order listed, so they are undone from the last.
  for (const coding of codings.reverse()) {
    if (coding === "gzip" || coding === "x-gzip") decoders.push(zlib.createGunzip(lenientZlib));
    else if (coding === "deflate") decoders.push(new Inflate());
    else if (coding === "br") decoders.push(zlib.createBrotliDecompress(lenientBrotli));
    else return [];
  }
  return decoders;
}

// As fetch: a body cut short decodes to what arrived instead of failing.
const lenientZlib = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const lenientBrotli = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

/**
 * "deflate" is meant to be zlib-wrapped, but some servers send raw deflate; as fetch
 * does, the first byte decides (a zlib header has compression method 8 in its low bits).
 */
class Inflate extends Transform {
  private inner: zlib.Inflate | zlib.InflateRaw | undefined;
  private flushed: TransformCallback | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inner === undefined) {
      if (chunk.byteLength === 0) {
        callback();
        return;
      }
      const inner = (chunk[0]! & 0x0f) === 0x08 ? zlib.createInflate(lenientZlib) : zlib.createInflateRaw(lenientZlib);
      inner.on("data", (out: Buffer) => {
        if (!this.push(out)) inner.pause(); // resumed by _read: the reader's pace holds back inflating
      });
      inner.on("error", (err) => this.destroy(err));
      inner.on("end", () => this.flushed?.());
      this.inner = inner;
    }
    this.inner.write(chunk, () => callback());
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _flush(callback: TransformCallback): void {
    if (this.inner === undefined) {
      callback();
      return;
    }
    this.flushed = callback;
    this.inner.end();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.inner?.destroy();
    callback(err);
  }
}

/** Plain words for the commonest network errors; the error's own text and code follow. */
const reasons: Record<string, string> = {
  ECONNREFUSED: "the connection was refused",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was closed while sending",
  ETIMEDOUT: "connecting timed out",
  ENOTFOUND: "the host name was not found",
  EAI_AGAIN: "the host name could not be resolved now",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  Z_DATA_ERROR: "the response body could not be decoded",
  Z_BUF_ERROR: "the response body could not be decoded",
};

/** Duck-typed, since errors from Node's internals may come from another realm. */
function failureText(err: unknown): string {
  if (typeof err !== "object" || err === null || !("message" in err)) return String(err);
  const { message, code } = err as { message: unknown; code?: unknown };
  const text = String(message);
  if (typeof code !== "string") return text;
  const detail = text.includes(code) ? text : `${text}, ${code}`;
  const reason = reasons[code];
  return reason === undefined ? detail : `${reason} (${detail})`;
}

/** The URL for messages, without user name and password. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === "" && parsed.password === "") return url;
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url;
  }
}
