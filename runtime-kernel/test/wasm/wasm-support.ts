import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createRuntimeClient, type RuntimeClient } from "@ottavo/generated/client/runtime-client";
import { formatListenAddress } from "../../src/config/listen-address";
import { Runtime, type RuntimeLog } from "../../src/runtime";
import { demoConfig, demoFiles } from "../e2e/support";

/** The guests the wasm tests use, built once per source change into .cache/wasm-guests. */
export const guestSources = {
  goStock: { moduleDir: "examples/faas/go", pkg: "./stock" },
  goTour: { moduleDir: "examples/faas/go", pkg: "./abi-tour" },
  goOrders: { moduleDir: "examples/faas/go", pkg: "./orders" },
  asStock: "examples/faas/assemblyscript/stock.ts",
  asTour: "examples/faas/assemblyscript/abi-tour.ts",
} as const;

/** Builds take tens of seconds on a loaded machine the first time, then come from the cache. */
export const buildTimeoutMs = 240_000;

export interface TestRuntime {
  readonly runtime: Runtime;
  readonly client: RuntimeClient;
  readonly log: RuntimeLog & { lines: string[] };
  /** The functions' HTTP trigger, e.g. http://127.0.0.1:41234. */
  readonly functionsUrl: string;
  readonly actuatorUrl: string;
  readonly dir: string;
  stop(): Promise<void>;
}

/**
 * A runtime in this process on free ports: the e2e demo config (one component of every
 * kind) unless another is given, plus a wasm section (YAML, indented under wasm:).
 */
export async function startTestRuntime(wasm: string, config: string = demoConfig({ appId: "wasm-test" })): Promise<TestRuntime> {
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-wasm-"));
  mkdirSync(path.join(dir, "files"));
  for (const [name, text] of Object.entries(demoFiles)) writeFileSync(path.join(dir, name), text);
  const file = path.join(dir, "ottavo.yaml");
  writeFileSync(file, `${config}\nwasm:\n  address: 127.0.0.1:0\n${wasm}\n`);
  const lines: string[] = [];
  const log = { lines, info: (l: string) => lines.push(l), warn: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
  const runtime = await Runtime.start({ configFile: file, shutdownTimeoutMs: 2_000, log });
  const client = createRuntimeClient(createConnectTransport({ baseUrl: `http://${formatListenAddress(runtime.apiAddress)}`, httpVersion: "1.1" }));
  return {
    runtime,
    client,
    log,
    dir,
    functionsUrl: `http://${formatListenAddress(runtime.functionAddress!)}`,
    actuatorUrl: `http://${formatListenAddress(runtime.actuatorAddress)}`,
    stop: async () => void (await runtime.shutdown()),
  };
}

/** Calls kept going against a function by three clients until stop(): how many were answered, and stop() gives the failed ones. */
export interface FunctionLoad {
  readonly answered: () => number;
  stop(): Promise<string[]>;
}

/** Three clients calling url in turn, each call expected to answer 200 with `expected`; what else it answers is a failure. */
export function loadFunction(url: string, expected: string): FunctionLoad {
  let stopped = false;
  let answered = 0;
  const failures: string[] = [];
  const client = async () => {
    while (!stopped) {
      const response = await fetch(url);
      const text = await response.text();
      if (response.status !== 200 || text !== expected) failures.push(`${response.status} ${text}`);
      answered++;
    }
  };
  const clients = [client(), client(), client()];
  return {
    answered: () => answered,
    stop: async () => {
      stopped = true;
      await Promise.all(clients);
      return failures;
    },
  };
}

/**
 * What every guest written in WebAssembly text here exports for the ABI: its
 * version marker and ottavo_alloc, a bump allocator from offset 4096 that never
 * frees (a test guest lives for a few calls).
 */
export const watAbiExports = `(global $next (mut i32) (i32.const 4096))
  (func (export "ottavo_abi_version_1"))
  (func (export "ottavo_alloc") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $at))`;
