import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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
 * name resolver whose redis-server is already stopped, and an immutable file store folder.
 */
export async function startScenarioRuntime(): Promise<ScenarioRuntime> {
  const echo = await startEcho();
  const port = (echo.address() as AddressInfo).port;
  // The name resolver's Redis: up while the runtime starts (its components connect
  // at start), stopped before any scenario runs, so its port has nothing listening.
  const resolverRedis = await startRedis();
  let immutable: ImmutableFolder | undefined;
  try {
    immutable = immutableFolder();
    const config = readFileSync(join(scenariosDir, "runtime.yaml"), "utf8")
      .replaceAll("${ECHO_URL}", `http://127.0.0.1:${port}`)
      .replaceAll("${RESOLVER_REDIS}", `${resolverRedis.host}:${resolverRedis.port}`)
      .replaceAll("${IMMUTABLE_DIR}", immutable.path);
    const runtime = await startRuntime({
      config,
      files: { "secrets.json": readFileSync(join(scenariosDir, "secrets.json"), "utf8") },
    });
    await resolverRedis.stop();
    const folder = immutable;
    return {
      runtime,
      endpoint: `127.0.0.1:${runtime.apiPort}`,
      stop: async () => {
        await runtime.stop();
        await new Promise((resolve) => echo.close(resolve));
        folder.remove();
      },
    };
  } catch (error) {
    echo.close();
    await resolverRedis.stop();
    immutable?.remove();
    throw error;
  }
}

interface ImmutableFolder {
  readonly path: string;
  /** Clears the flag and removes the folder; calling it again does nothing. */
  remove(): void;
}

/**
 * A temp folder holding kept.txt, with the file system's immutable flag set
 * (chattr +i, e2fsprogs): nothing is created in or removed from it, by root
 * either (root bypasses permission bits, not this flag; setting it takes
 * CAP_LINUX_IMMUTABLE and ext2/3/4, xfs or btrfs). Outside the runtime's own
 * temp folder, which test-support removes without knowing the flag; removed at
 * stop, or when this process exits.
 */
function immutableFolder(): ImmutableFolder {
  const path = mkdtempSync(join(tmpdir(), "ottavo-sdk-immutable-"));
  writeFileSync(join(path, "kept.txt"), "kept");
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off("exit", remove);
    execFileSync("chattr", ["-i", path], { stdio: ["ignore", "ignore", "pipe"] });
    rmSync(path, { recursive: true, force: true });
  };
  process.on("exit", remove);
  try {
    execFileSync("chattr", ["+i", path], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    remove();
    throw error;
  }
  return { path, remove };
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
