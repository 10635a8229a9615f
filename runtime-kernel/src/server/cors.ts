import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { CorsConfig } from "../config/cors-config";

/** What Connect-ES, connect-web and Google's grpc-web clients send on a call. */
const clientRequestHeaders = [
  "content-type",
  "connect-protocol-version",
  "connect-timeout-ms",
  "connect-accept-encoding",
  "connect-content-encoding",
  "grpc-timeout",
  "grpc-accept-encoding",
  "grpc-encoding",
  "x-grpc-web",
  "x-user-agent",
];

/** What those clients must read to see a call's outcome. */
const statusResponseHeaders = [
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "grpc-encoding",
  "grpc-accept-encoding",
  "connect-content-encoding",
  "connect-accept-encoding",
];

type Request = http.IncomingMessage | http2.Http2ServerRequest;
interface Response {
  setHeader(name: string, value: string): unknown;
  writeHead(status: number, headers?: http.OutgoingHttpHeaders): unknown;
  end(): unknown;
  end(body: string): unknown;
}

/**
 * CORS for browsers on other origins: answers preflights (OPTIONS) itself and
 * marks the answers of calls from allowed origins. A preflight from an origin
 * that is not allowed answers 403 saying so; a call from one gets no CORS
 * headers, so the browser keeps its answer from the page.
 */
export class CorsPolicy {
  private readonly allowHeaders: string;
  private readonly allowedHeaders: ReadonlySet<string>;
  private readonly exposeHeaders: string;
  private readonly anyHeader: boolean;

  constructor(private readonly config: CorsConfig) {
    const allowed = [...clientRequestHeaders, ...config.allowedHeaders.map((h) => h.toLowerCase())];
    this.anyHeader = allowed.includes("*");
    this.allowedHeaders = new Set(allowed);
    this.allowHeaders = [...new Set(allowed.filter((h) => h !== "*"))].join(", ");
    this.exposeHeaders = [...new Set([...statusResponseHeaders, ...config.exposedHeaders.map((h) => h.toLowerCase())])].join(", ");
  }

  /** Marks a cross-origin answer, or answers a preflight; true when the request is answered here. */
  handle(request: Request, response: Response): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return false;
    const preflight = request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined;
    if (!this.allows(origin)) {
      if (!preflight) return false;
      response.writeHead(403, { "content-type": "text/plain; charset=utf-8", vary: "Origin" });
      response.end(`origin ${origin} is not allowed to call this API (api.cors.allowedOrigins)\n`);
      return true;
    }
    response.setHeader("access-control-allow-origin", this.config.allowedOrigins.includes("*") && !this.config.allowCredentials ? "*" : origin);
    response.setHeader("vary", "Origin");
    if (this.config.allowCredentials) response.setHeader("access-control-allow-credentials", "true");
    if (!preflight) {
      response.setHeader("access-control-expose-headers", this.exposeHeaders);
      return false;
    }
    const method = String(request.headers["access-control-request-method"]).toUpperCase();
    const asked = String(request.headers["access-control-request-headers"] ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== "");
    const refused = this.anyHeader ? [] : asked.filter((h) => !this.allowedHeaders.has(h));
    if ((method !== "POST" && method !== "GET") || refused.length > 0) {
      response.writeHead(403, { "content-type": "text/plain; charset=utf-8" });
      response.end(
        refused.length > 0
          ? `request header(s) ${refused.join(", ")} not allowed (api.cors.allowedHeaders)\n`
          : `method ${method} not allowed: the API takes POST and GET\n`,
      );
      return true;
    }
    response.writeHead(204, {
      "access-control-allow-methods": "POST, GET",
      "access-control-allow-headers": this.anyHeader && asked.length > 0 ? asked.join(", ") : this.allowHeaders,
      "access-control-max-age": String(this.config.maxAgeSeconds),
    });
    response.end();
    return true;
  }

  private allows(origin: string): boolean {
    return this.config.allowedOrigins.some((allowed) => {
      if (allowed === "*" || allowed === origin) return true;
      const star = allowed.indexOf("*.");
      if (star < 0) return false;
      // "https://*.example.com" allows "https://a.example.com", not "https://example.com".
      const [scheme, suffix] = [allowed.slice(0, star), allowed.slice(star + 1)];
      return origin.startsWith(scheme) && origin.endsWith(suffix) && origin.length > scheme.length + suffix.length;
    });
  }
}
