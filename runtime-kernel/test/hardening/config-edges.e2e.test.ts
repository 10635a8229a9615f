/**
 * Issue 11, finding 10: config edge cases exit non-zero with lines naming the
 * file and the problem, never a stack trace, and never hang.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runRuntimeExpectingFailure, startRuntime } from "@ottavo/test-support";

jest.setTimeout(30_000);

const minimal = (extra = "") => `api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
${extra}`;

/** Every line of stderr names the config file; none is a stack frame. */
function expectExplained(stderr: string, configFile: string, problem: RegExp): void {
  const lines = stderr.trim().split("\n");
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line.startsWith(configFile)).toBe(true);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).toMatch(problem);
}

it("a YAML alias bomb: refused with one line, no stack trace", async () => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const next = String.fromCharCode(97 + i);
    bomb.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(",")}]`);
  }
  const failure = await runRuntimeExpectingFailure({ config: minimal(bomb.join("\n") + "\n") });
  expect(failure.code).toBe(1);
  expectExplained(failure.stderr, failure.configFile, /not valid YAML: .*alias/i);
});

it("a FIFO as the config file: refused at once, not a hang", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-fifo-"));
  const fifo = path.join(dir, "config.yaml");
  execFileSync("mkfifo", [fifo]);
  const failure = await runRuntimeExpectingFailure({ config: fifo, startTimeoutMs: 12_000 });
  expect(failure.code).toBe(1);
  expectExplained(failure.stderr, fifo, /not a regular file/);
});

it("a keyPrefix containing '||': refused at start, not at every call", async () => {
  const failure = await runRuntimeExpectingFailure({ config: minimal("components:\n  lock:\n    locks: { type: in-memory, metadata: { keyPrefix: 'a||b' } }\n") });
  expect(failure.code).toBe(1);
  expectExplained(failure.stderr, failure.configFile, /lock component 'locks'.*'keyPrefix' must match/);
});

it("duplicate component names in config.json: an error naming line and column", async () => {
  const text = `{"servers": [{"listeners": [
  {"address": "127.0.0.1:0", "filter_chains": [{"filters": [{"type": "grpc", "config": {"server_name": "runtime", "grpc_config": {
    "state": {
      "orders": {"type": "in-memory"},
      "orders": {"type": "in-memory", "metadata": {"keyPrefix": "name"}}
    }}}}]}]},
  {"name": "actuator", "address": "127.0.0.1:0"}]}]}`;
  const failure = await runRuntimeExpectingFailure({ config: text });
  expect(failure.code).toBe(1);
  expectExplained(failure.stderr, failure.configFile, /:5:7: duplicate key 'orders' in grpc_config\.state/);
});

it("local.env without a prefix: refused (it would expose the whole environment)", async () => {
  const failure = await runRuntimeExpectingFailure({ config: minimal("components:\n  secret:\n    env: { type: local.env }\n") });
  expect(failure.code).toBe(1);
  expectExplained(failure.stderr, failure.configFile, /secret component 'env'.*prefix/);
});

describe("an API address other machines can reach (0.0.0.0)", () => {
  const open = `api: { address: 0.0.0.0:0 }\nactuator: { address: 127.0.0.1:0 }\n`;

  it("is refused in plaintext without a token", async () => {
    const failure = await runRuntimeExpectingFailure({ config: open });
    expect(failure.code).toBe(1);
    expectExplained(failure.stderr, failure.configFile, /reachable from other machines.*OTTAVO_API_TOKEN.*insecure: true/);
  });

  it("starts with a warning when the config says insecure: true", async () => {
    const runtime = await startRuntime({ config: `api: { address: 0.0.0.0:0, insecure: true }\nactuator: { address: 127.0.0.1:0 }\n` });
    expect(runtime.stderr()).toMatch(/warning: the API listens on 0\.0\.0\.0:\d+ in plaintext without an API token/);
    expect(await runtime.stop()).toBe(0);
  });

  it("starts with a warning when an API token is set", async () => {
    const runtime = await startRuntime({ config: open, env: { OTTAVO_API_TOKEN: "t0ken" } });
    expect(runtime.stderr()).toMatch(/warning: the API listens on 0\.0\.0\.0:\d+ in plaintext \(API token required\)/);
    expect(await runtime.stop()).toBe(0);
  });
});
