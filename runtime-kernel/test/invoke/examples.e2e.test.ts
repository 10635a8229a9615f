/**
 * The README's "Calling another service", as a user runs it: the configs in
 * configs/ (their fixed ports moved to free ones) and the scripts in
 * examples/invoke/, each as its own node process.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { eventually, startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { closedPort } from "./support";

jest.setTimeout(30_000);

const repoRoot = path.resolve(__dirname, "..", "..", "..");

interface Script {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  readonly exited: Promise<number | null>;
}

const scripts: Script[] = [];
const runtimes: RunningRuntime[] = [];
let redis: RedisServer | undefined;
afterAll(async () => {
  for (const runtime of runtimes) expect(await runtime.stop()).toBe(0);
  for (const script of scripts) {
    if (script.child.exitCode === null && script.child.signalCode === null) script.child.kill("SIGTERM");
    await script.exited;
  }
  await redis?.stop();
});

function run(file: string, args: string[], env: Record<string, string> = {}): Script {
  const child = spawn(process.execPath, [path.join(repoRoot, "examples", "invoke", file), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  const script = { child, stdout: () => out, exited };
  scripts.push(script);
  return script;
}

/** A config of configs/ with its fixed ports replaced; fails if one is left. */
function exampleConfig(file: string, replacements: Record<string, string>): string {
  let text = readFileSync(path.join(repoRoot, "configs", file), "utf8");
  for (const [from, to] of Object.entries(replacements)) text = text.split(from).join(to);
  const settings = text.replace(/#.*$/gm, "");
  for (const port of ["34904", "34905", "34998", "34999", "8889", "3000", "6379"]) expect(settings).not.toMatch(new RegExp(`\\b${port}\\b`));
  return text;
}

const anyPort = { "127.0.0.1:34904": "127.0.0.1:0", "127.0.0.1:34905": "127.0.0.1:0", "127.0.0.1:34999": "127.0.0.1:0", "127.0.0.1:34998": "127.0.0.1:0" };

async function startService(): Promise<number> {
  const port = await closedPort();
  const service = run("hello-service.js", [String(port)]);
  await eventually(() => expect(service.stdout()).toContain("hello-service: listening"));
  return port;
}

async function client(runtime: RunningRuntime, id?: string): Promise<string> {
  const script = run("client.js", id === undefined ? [] : [id], { runtime_GRPC_PORT: String(runtime.apiPort) });
  expect(await script.exited).toBe(0);
  return script.stdout();
}

it("client.js calls hello-service.js through a runtime on configs/invoke.yaml", async () => {
  const port = await startService();
  const runtime = await startRuntime({ config: exampleConfig("invoke.yaml", { ...anyPort, "127.0.0.1:8889": `127.0.0.1:${port}` }) });
  runtimes.push(runtime);
  expect(await client(runtime)).toBe(
    `GET /hello: hello, ottavo (from port ${port})\n` +
      `POST /orders: {"id":1,"item":"tea","qty":2,"caller":"client.js"}\n` +
      "GET /nowhere: code 5 (Not Found), HTTP 404\n",
  );
});

it("client.js b calls app b through runtimes A and B of configs/invoke-app-{a,b}.yaml, found in Redis", async () => {
  redis = await startRedis();
  const port = await startService();
  const redisAt = { "127.0.0.1:6379": `127.0.0.1:${redis.port}` };
  const runtimeB = await startRuntime({ config: exampleConfig("invoke-app-b.yaml", { ...anyPort, ...redisAt, "httpPort: 3000": `httpPort: ${port}` }) });
  runtimes.push(runtimeB);
  const runtimeA = await startRuntime({ config: exampleConfig("invoke-app-a.yaml", { ...anyPort, ...redisAt }) });
  runtimes.push(runtimeA);
  expect(await client(runtimeA, "b")).toBe(
    `GET /hello: hello, ottavo (from port ${port})\n` +
      `POST /orders: {"id":1,"item":"tea","qty":2,"caller":"client.js"}\n` +
      "GET /nowhere: code 5 (Not Found), HTTP 404\n",
  );
});
