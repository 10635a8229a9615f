/**
 * The "http" output binding's semantics, as Dapr's: operations, URL and headers
 * from metadata, which answers fail, and the adapter definition. Sending is the
 * HttpClient's; this module decides what to send and what the answer means.
 */
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
import { MetadataError } from "@ottavo/component-runtime";
import { HttpClient } from "./http-client";
import { failureText } from "./network-errors";
import { requestHeaders } from "./request-headers";
import { readBody } from "./response-body";
import { responseMetadata } from "./response-metadata";
import { redact } from "./url-credentials";

/** The operations, each the HTTP method of the same name. */
export const httpOperations = ["get", "head", "post", "put", "patch", "delete", "options", "trace"] as const;

/** As in Dapr's http binding, only these methods send the invocation's data as the body. */
const methodsWithBody = new Set(["post", "put", "patch"]);

/** How much of an error answer's body goes into the error message. */
const errorBodyBytes = 512;

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
 * HTTP is kept: with followRedirects (off by default: a redirect is then the
 * answer) redirects to the url's own origin are followed (301/302 turn a POST, 303
 * any method but GET and HEAD, into a GET without a body; 307/308 resend method
 * and body; at most 20) and one to another origin fails; and gzip, deflate and br bodies are decoded (maxResponseBytes counts
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
  if (problems.length > 0) throw new MetadataError(problems);
  return new HttpOutputBinding(metadata);
});

class HttpOutputBinding implements HttpBinding {
  readonly features = new Set<never>();
  private readonly base: string;
  private readonly client = new HttpClient();

  private readonly allowedHeaders: ReadonlySet<string> | undefined;

  constructor(private readonly metadata: HttpBindingMetadata) {
    this.base = metadata.url.replace(/\/+$/, "");
    const allowed = metadata.allowedHeaders.split(",").map((name) => name.trim().toLowerCase()).filter((name) => name !== "");
    this.allowedHeaders = allowed.includes("*") ? undefined : new Set(allowed);
  }

  /**
   * The url with metadata "path" appended, as the server will read it: dot
   * segments ("..", "%2e%2e") resolved. A path that ends up outside the
   * configured url's path (or on another origin) is refused.
   */
  private underBase(path: string): string {
    const base = new URL(this.base);
    const joined = new URL(`${this.base}/${path.replace(/^\/+/, "")}`);
    const basePath = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
    const inside = joined.origin === base.origin && (joined.pathname === base.pathname || joined.pathname.startsWith(basePath));
    if (!inside || /%2e|%2f|%5c/i.test(path.split("?")[0])) {
      throw new UnsupportedOperationError(`http binding: metadata path ${JSON.stringify(path)} leaves the configured url's path; refused`);
    }
    return joined.href;
  }

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    const method = request.operation.toLowerCase();
    if (!(httpOperations as readonly string[]).includes(method)) {
      throw new UnsupportedOperationError(
        `http binding: operation '${request.operation}' is not supported; use one of ${httpOperations.join(", ")}`,
      );
    }
    const path = request.metadata["path"];
    const url = path === undefined ? this.base : this.underBase(path);
    const what = `http binding: ${method.toUpperCase()} ${redact(url)}`;
    if (this.client.closed) throw new UnreachableError(`${what} was not sent: the binding is closed`);

    const timeout = this.metadata.responseTimeout;
    const call = this.client.begin(timeout);
    try {
      const { data: sent } = request;
      const body = methodsWithBody.has(method) ? Buffer.from(sent.buffer, sent.byteOffset, sent.byteLength) : undefined;
      const headers = requestHeaders(request.metadata, this.allowedHeaders);
      const { response, hasBody } = await this.client.exchange(url, method.toUpperCase(), headers, body, call.signal, this.metadata.followRedirects);
      const status = response.statusCode ?? 0;
      if (status >= 400) {
        const { data } = await readBody(response, hasBody, errorBodyBytes, call.signal);
        throw new UnreachableError(`${what} answered ${status}: ${new TextDecoder().decode(data)}`);
      }
      const { data, exceeded } = await readBody(response, hasBody, this.metadata.maxResponseBytes, call.signal);
      if (exceeded) {
        throw new UnreachableError(
          `${what} answered a body larger than maxResponseBytes (${this.metadata.maxResponseBytes} bytes); raise it in the component's metadata`,
        );
      }
      return { data, metadata: responseMetadata(response) };
    } catch (err) {
      if (err instanceof UnreachableError) throw err;
      if (call.abortedBy === "timeout") throw new UnreachableError(`${what} timed out after ${timeout} ms`, err);
      if (call.abortedBy === "close") throw new UnreachableError(`${what} was cancelled: the binding is closing`, err);
      throw new UnreachableError(`${what} failed: ${failureText(err)}`, err);
    } finally {
      call.end();
    }
  }

  // No probing: the endpoint's health is not the binding's, and a probe would cost the remote a request.
  async health(): Promise<void> {}

  async close(): Promise<void> {
    this.client.close();
  }
}
