import * as http from "node:http";
import type { ListenAddress } from "../config/listen-address";
import type { AppInfo } from "./app-info";
import { apiTokenHeader, presentedHttpToken, tokenMatches } from "./auth";
import { healthHttpStatus, type HealthReport } from "./health";
import { closeServer, listenOn } from "./listen";

/** What the actuator reports; the runtime supplies it. */
export interface ActuatorSources {
  liveness(): Promise<HealthReport>;
  readiness(): Promise<HealthReport>;
  info(): AppInfo;
  /** The API token: when set, every endpoint but the health probes requires it. */
  readonly token?: string;
  /** Prometheus's text exposition, served at /metrics. */
  metrics?(): Promise<{ contentType: string; text: string }>;
  /** More routes (the wasm admin endpoints), told whether the request carries the token; undefined when the request is not theirs. */
  extra?(request: http.IncomingMessage, authorized: boolean): Promise<{ status: number; body: unknown } | undefined>;
}

/**
 * Layotto's actuator over HTTP/1.1: GET /actuator/health/liveness,
 * GET /actuator/health/readiness and GET /actuator/info, as JSON, and
 * Prometheus metrics at GET /metrics. Anything else is 404 (405 for another
 * method on a known path).
 */
export class ActuatorServer {
  private constructor(
    private readonly server: http.Server,
    /** The address bound, with the real port when the config asked for 0. */
    readonly address: ListenAddress,
  ) {}

  static async start(address: ListenAddress, sources: ActuatorSources): Promise<ActuatorServer> {
    const server = http.createServer((request, response) => {
      route(request, sources).then(
        ({ status, body, contentType }) => send(response, status, body, contentType),
        () => send(response, 500, { error: "internal error" }),
      );
    });
    // Probes are short; keep-alive would only hold shutdown back.
    server.keepAliveTimeout = 1000;
    const bound = await listenOn(server, address);
    return new ActuatorServer(server, bound);
  }

  async close(): Promise<void> {
    const closed = closeServer(this.server);
    this.server.closeAllConnections();
    await closed;
  }
}

interface Answer {
  status: number;
  body: unknown;
  /** Set when the body is text to send as it is (not JSON). */
  contentType?: string;
}

const routes: Record<string, (sources: ActuatorSources) => Promise<Answer>> = {
  "/actuator/health/liveness": async (sources) => healthAnswer(await sources.liveness()),
  "/actuator/health/readiness": async (sources) => healthAnswer(await sources.readiness()),
  "/actuator/info": async (sources) => ({ status: 200, body: { app: sources.info() } }),
  "/metrics": async (sources) => {
    if (!sources.metrics) return { status: 404, body: { error: "not found" } };
    const { contentType, text } = await sources.metrics();
    return { status: 200, body: text, contentType };
  },
};

async function route(request: http.IncomingMessage, sources: ActuatorSources): Promise<Answer> {
  const path = (request.url ?? "/").split("?", 1)[0].replace(/\/+$/, "");
  const handler = routes[path];
  // Probes cannot authenticate; everything else (info, admin endpoints) needs the API token when one is set.
  if (handler !== undefined && sources.token !== undefined && !path.startsWith("/actuator/health/") && !tokenMatches(sources.token, presentedHttpToken(request.headers))) {
    return { status: 401, body: { error: `a valid API token is required: send it in the '${apiTokenHeader}' header` } };
  }
  if (!handler) {
    const authorized = sources.token === undefined || tokenMatches(sources.token, presentedHttpToken(request.headers));
    return (await sources.extra?.(request, authorized)) ?? { status: 404, body: { error: "not found" } };
  }
  if (request.method !== "GET" && request.method !== "HEAD") return { status: 405, body: { error: "method not allowed" } };
  return handler(sources);
}

function healthAnswer(report: HealthReport): { status: number; body: unknown } {
  return { status: healthHttpStatus(report.status), body: report };
}

function send(response: http.ServerResponse, status: number, body: unknown, contentType?: string): void {
  const text = contentType === undefined ? JSON.stringify(body) : String(body);
  response.writeHead(status, {
    "content-type": contentType ?? "application/json",
    "content-length": Buffer.byteLength(text),
    ...(status === 405 ? { allow: "GET, HEAD" } : {}),
  });
  response.end(response.req.method === "HEAD" ? undefined : text);
}
