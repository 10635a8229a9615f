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

/** Headers fetch manages itself (or refuses); metadata under these names is not sent. */
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
const maxTimerMs = 2 ** 31 - 1;
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The "http" output binding, with Dapr's behaviour: the operation is the method
 * (any case), metadata "path" is appended to url, other metadata become headers
 * (names or values HTTP cannot carry, and headers fetch manages, are left out).
 * The answer's metadata holds statusCode, status ("200 OK") and every response
 * header under Go's canonical name (Content-Type), several values joined by ", ".
 *
 * Failures are UnreachableError (UNAVAILABLE): a network error, responseTimeout
 * (0 means none; it covers reading the body too), an answer with status >= 400
 * (the message carries the status and the first 512 bytes of the body), and a body
 * larger than maxResponseBytes (reading stops at the limit and nothing is returned).
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

class HttpOutputBinding implements HttpBinding {
  readonly features = new Set<never>();
  private readonly base: string;
  private readonly inFlight = new Set<(cause: AbortCause) => void>();
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
      controller.abort();
    };
    const timeout = this.metadata.responseTimeout;
    // Timers beyond 2^31-1 ms would fire at once, so longer timeouts are capped (about 24 days).
    const timer = timeout > 0 ? setTimeout(abort, Math.min(timeout, maxTimerMs), "timeout") : undefined;
    this.inFlight.add(abort);
    try {
      const response = await fetch(url, {
        method: method.toUpperCase(),
        headers: requestHeaders(request.metadata),
        body: methodsWithBody.has(method) ? request.data : undefined,
        signal: controller.signal,
      });
      if (response.status >= 400) {
        const { data } = await readBody(response, errorBodyBytes);
        throw new UnreachableError(`${what} answered ${response.status}: ${new TextDecoder().decode(data)}`);
      }
      const { data, exceeded } = await readBody(response, this.metadata.maxResponseBytes);
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
  }
}

function requestHeaders(metadata: Record<string, string>): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(metadata)) {
    if (key === "path" || !headerName.test(key) || managedHeaders.has(key.toLowerCase())) continue;
    if (!headerValue.test(value)) continue;
    headers.append(key, value);
  }
  return headers;
}

function responseMetadata(response: Response): Record<string, string> {
  const metadata: Record<string, string> = {
    statusCode: String(response.status),
    status: `${response.status} ${response.statusText}`.trimEnd(),
  };
  // Set-Cookie comes once per cookie here and is joined like any repeated header.
  response.headers.forEach((value, key) => {
    const name = canonicalHeaderName(key);
    metadata[name] = metadata[name] === undefined ? value : `${metadata[name]}, ${value}`;
  });
  return metadata;
}

/** Go's canonical form (content-type -> Content-Type), the names Dapr's binding answers with. */
function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** Reads at most limit bytes of the body; stops reading (and says so) when more would follow. */
async function readBody(response: Response, limit: number): Promise<{ data: Uint8Array; exceeded: boolean }> {
  if (response.body === null) return { data: new Uint8Array(0), exceeded: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { data: Buffer.concat(chunks, size), exceeded: false };
    if (size + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - size));
      await reader.cancel().catch(() => undefined);
      return { data: Buffer.concat(chunks, limit), exceeded: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
}

/**
 * fetch reports "fetch failed" and hides the reason (ECONNREFUSED, ...) in its cause.
 * Duck-typed, since errors from Node's internals may come from another realm.
 */
function failureText(err: unknown): string {
  const cause = errorParts(errorParts(err)?.cause);
  const outer = errorParts(err);
  if (cause !== undefined) {
    return cause.code !== undefined && !cause.message.includes(cause.code) ? `${cause.message} (${cause.code})` : cause.message;
  }
  return outer?.message ?? String(err);
}

function errorParts(err: unknown): { message: string; code?: string; cause?: unknown } | undefined {
  if (typeof err !== "object" || err === null || !("message" in err)) return undefined;
  const { message, code, cause } = err as { message: unknown; code?: unknown; cause?: unknown };
  return { message: String(message), code: typeof code === "string" ? code : undefined, cause };
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
