import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { startRedis, startRuntime, type RunningRuntime } from "@ottavo/test-support";

const scenariosDir = join(__dirname, "..", "scenarios");

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly input: Readonly<Record<string, unknown>>;
  readonly expect: Readonly<Record<string, unknown>>;
}

/** The language-neutral scenario table, sdks/scenarios/scenarios.json. */
export function loadScenarios(): readonly Scenario[] {
  return (JSON.parse(readFileSync(join(scenariosDir, "scenarios.json"), "utf8")) as { scenarios: Scenario[] }).scenarios;
}

export interface ScenarioRuntime {
  readonly runtime: RunningRuntime;
  /** host:port of the runtime's API, as OTTAVO_GRPC_ENDPOINT takes it. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * The runtime the scenarios run against (sdks/scenarios/runtime.yaml), on free
 * loopback ports, with an HTTP echo server behind its output binding and a Redis
 * name resolver whose redis-server is already stopped.
 */
export async function startScenarioRuntime(): Promise<ScenarioRuntime> {
  const echo = await startEcho();
  const port = (echo.address() as AddressInfo).port;
  // The name resolver's Redis: up while the runtime starts (its components connect
  // at start), stopped before any scenario runs, so its port has nothing listening.
  const resolverRedis = await startRedis();
  try {
    const config = readFileSync(join(scenariosDir, "runtime.yaml"), "utf8")
      .replaceAll("${ECHO_URL}", `http://127.0.0.1:${port}`)
      .replaceAll("${RESOLVER_REDIS}", `${resolverRedis.host}:${resolverRedis.port}`);
    const runtime = await startRuntime({
      config,
      files: { "secrets.json": readFileSync(join(scenariosDir, "secrets.json"), "utf8") },
    });
    await resolverRedis.stop();
    return {
      runtime,
      endpoint: `127.0.0.1:${runtime.apiPort}`,
      stop: async () => {
        await runtime.stop();
        await new Promise((resolve) => echo.close(resolve));
      },
    };
  } catch (error) {
    echo.close();
    await resolverRedis.stop();
    throw error;
  }
}

/** Answers every request with its own body and content type; a request to /down with 503. */
function startEcho(): Promise<Server> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/down") {
        response.writeHead(503, { "content-type": "text/plain" });
        response.end("the echo service is down on purpose");
        return;
      }
      response.writeHead(200, { "content-type": request.headers["content-type"] ?? "application/octet-stream" });
      response.end(Buffer.concat(chunks));
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}
