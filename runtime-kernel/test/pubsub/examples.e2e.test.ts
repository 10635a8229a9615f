/**
 * The README's pub/sub example, as a user runs it: configs/pubsub-app.yaml (its
 * ports moved to free ones) and the scripts in examples/pubsub/, each as its own
 * node process.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { eventually, freePort } from "./support";

jest.setTimeout(30_000);

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const examples = path.join(repoRoot, "examples", "pubsub");

interface Script {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

const scripts: Script[] = [];
afterAll(async () => {
  for (const script of scripts) {
    if (script.child.exitCode === null && script.child.signalCode === null) script.child.kill("SIGTERM");
    await script.exited;
  }
});

function run(file: string, args: string[], env: Record<string, string>): Script {
  const child = spawn(process.execPath, [path.join(examples, file), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  const script = { child, stdout: () => out, stderr: () => err, exited };
  scripts.push(script);
  return script;
}

/** configs/pubsub-app.yaml with free ports in place of 34904, 34999 and 9999. */
function exampleConfig(callbackPort: number): string {
  const original = readFileSync(path.join(repoRoot, "configs", "pubsub-app.yaml"), "utf8");
  const replaced = original
    .replace("address: 127.0.0.1:34904", "address: 127.0.0.1:0")
    .replace("address: 127.0.0.1:34999", "address: 127.0.0.1:0")
    .replace("callbackPort: 9999", `callbackPort: ${callbackPort}`);
  const settings = replaced.replace(/#.*$/gm, "");
  for (const port of ["34904", "34999", "9999"]) expect(settings).not.toMatch(new RegExp(`\\b${port}\\b`));
  return replaced;
}

let runtime: RunningRuntime;
let callbackPort: number;
beforeAll(async () => {
  callbackPort = await freePort();
  runtime = await startRuntime({ config: exampleConfig(callbackPort) });
});
afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

it("subscriber.js receives what publisher.js publishes, the first order again after it failed once", async () => {
  const subscriber = run("subscriber.js", [], { appcallback_GRPC_PORT: String(callbackPort) });
  await eventually(() => expect(subscriber.stdout()).toContain("subscriber: listening on"));
  await runtime.waitForStdout("ottavo: subscribed the app to topic 'orders' of pubsub 'pub_subs_demo'");

  const publisher = run("publisher.js", [], { runtime_GRPC_PORT: String(runtime.apiPort) });
  expect(await publisher.exited).toBe(0);
  expect(publisher.stdout()).toBe("published order 1 to 'orders'\npublished order 2 to 'orders'\npublished order 3 to 'orders'\n");

  await eventually(() => expect(subscriber.stdout().match(/^order \d: \w+ \(event/gm)).toHaveLength(3));
  const lines = subscriber.stdout().trim().split("\n").slice(1);
  expect(lines[0]).toBe("order 1: failing once (the runtime delivers it again)");
  expect(lines.slice(1).map((l) => l.replace(/ \(event .*/, ""))).toEqual(["order 1: tea", "order 2: scones", "order 3: jam"]);
  expect(lines[1]).toMatch(/^order 1: tea \(event [0-9a-f-]{36}, metadata \{"region":"eu"\}\)$/);
  // The SDK calls grpc-js's Server.start(), which newer grpc-js versions deprecate; nothing else.
  expect(subscriber.stderr().replace(/^\(node:\d+\) DeprecationWarning: Calling start\(\) is no longer necessary.*\n.*--trace-deprecation.*\n/, "")).toBe("");
});

it("stream-subscriber.js receives and acknowledges what publisher.js publishes to 'shipments'", async () => {
  const env = { runtime_GRPC_PORT: String(runtime.apiPort) };
  const streamer = run("stream-subscriber.js", [], env);
  await eventually(() => expect(streamer.stdout()).toContain("stream-subscriber: subscribed to topic 'shipments'"));

  const publisher = run("publisher.js", ["shipments", "2"], env);
  expect(await publisher.exited).toBe(0);
  await eventually(() => expect(streamer.stdout().match(/^shipments \d: \w+ \(event/gm)).toHaveLength(2));
  expect(streamer.stdout()).toMatch(/^shipments 1: tea \(event [0-9a-f-]{36}\)\nshipments 2: scones/m);

  streamer.child.kill("SIGINT");
  expect(await streamer.exited).toBe(0);
  expect(streamer.stdout()).toContain("stream-subscriber: stream closed");
  expect(streamer.stderr()).toBe("");
});
