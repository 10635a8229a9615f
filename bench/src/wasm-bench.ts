/**
 * WebAssembly functions' costs, run by hand (not part of `make bench`):
 *
 *   npx tsc -b && node bench/dist/wasm-bench.js
 *
 * In one process, on the in-memory state store:
 *   1. host call: a WAT guest making N get_state calls in one invocation (the bridge:
 *      worker thread, SharedArrayBuffer, Atomics.wait) vs the same handler called from JS;
 *   2. cold start: module compile + instantiate + first call, AssemblyScript and Go;
 *   3. HTTP trigger: sequential requests to the Go stock function over keep-alive HTTP/1.1,
 *      vs the same GetState through the gRPC API (Connect, HTTP/1.1).
 * Medians of BENCH_ROUNDS (5) rounds.
 */
import * as http from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createRuntimeClient } from "@ottavo/generated/client/runtime-client";
import { formatListenAddress, Runtime } from "@ottavo/runtime-kernel";
import { buildAssemblyScriptGuest, buildGoGuest, buildWatGuest } from "@ottavo/test-support";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const hostCalls = 2_000;

/** GetStateRequest{store_name: "state_demo", key: "k"}, as WAT data. */
const getStateRequest = "\\0a\\0astate_demo\\12\\01k";

const loopGuest = (calls: number) => `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "${getStateRequest}")
  (global $next (mut i32) (i32.const 4096))
  (func (export "ottavo_abi_version_1"))
  (func (export "ottavo_alloc") (param $size i32) (result i32)
    ;; a ring over the second page: responses are read and dropped
    (if (i32.gt_u (i32.add (global.get $next) (local.get $size)) (i32.const 131072)) (then (global.set $next (i32.const 65536))))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (i32.sub (global.get $next) (local.get $size)))
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (local $i i32)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (i32.const ${calls})))
      (drop (call $get_state (i32.const 16) (i32.const 15) (i32.const 0) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (i32.const 0)))`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const [loopN, loop0, asStock, goStock] = await Promise.all([
    buildWatGuest(`bench-loop-${hostCalls}`, loopGuest(hostCalls)),
    buildWatGuest("bench-loop-0", loopGuest(0)),
    buildAssemblyScriptGuest("examples/faas/assemblyscript/stock.ts"),
    buildGoGuest("examples/faas/go", "./stock"),
  ]);
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-wasm-bench-"));
  const file = path.join(dir, "ottavo.yaml");
  writeFileSync(
    file,
    `api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    state_demo: { type: in-memory }
wasm:
  address: 127.0.0.1:0
  functions:
    loop: { path: ${loopN}, cpuLimitMs: 60000 }
    empty: { path: ${loop0} }
    go-stock: { path: ${goStock} }
`,
  );
  const runtime = await Runtime.start({ configFile: file, shutdownTimeoutMs: 2_000, log: { info: () => {}, warn: console.warn, error: console.error } });
  const host = runtime.functionHost!;
  const client = createRuntimeClient(createConnectTransport({ baseUrl: `http://${formatListenAddress(runtime.apiAddress)}`, httpVersion: "1.1" }));
  await client.saveState({ storeName: "state_demo", states: [{ key: "k", value: new TextEncoder().encode("v") }, { key: "book1", value: new TextEncoder().encode("100") }] });
  const call = { method: "", verb: "GET", query: "name=book1", contentType: "", data: new Uint8Array(0), headers: [] };

  // 1. Host call cost.
  const perHostCall: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    await host.call("loop", call);
    const withCalls = performance.now() - t;
    t = performance.now();
    await host.call("empty", call);
    const without = performance.now() - t;
    perHostCall.push(((withCalls - without) / hostCalls) * 1000);
  }
  const fromJs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < hostCalls; i++) await client.getState({ storeName: "state_demo", key: "k" });
    fromJs.push(((performance.now() - t) / hostCalls) * 1000);
  }
  console.log(`host call get_state (in-memory), guest -> bridge -> handler: ${median(perHostCall).toFixed(1)} us per call`);
  console.log(`GetState from JS through the gRPC API client (Connect, HTTP/1.1, same process): ${median(fromJs).toFixed(1)} us per call`);

  // 2. Cold start.
  for (const [name, wasm] of [
    ["AssemblyScript stock", asStock],
    ["Go stock", goStock],
  ] as const) {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const id = `cold-${r}-${name.split(" ")[0]}`;
      const t = performance.now();
      await host.install({ name: id, path: wasm, instances: 1, maxMemoryPages: 1024, cpuLimitMs: 1000, bufferCapBytes: 1 << 20, watch: false, subscriptions: [] });
      await host.call(id, call);
      times.push(performance.now() - t);
      await host.uninstall(id);
    }
    console.log(`cold start (read + compile + instantiate + first call), ${name}: ${median(times).toFixed(1)} ms`);
  }

  // 3. HTTP trigger vs gRPC.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const port = runtime.functionAddress!.kind === "tcp" ? runtime.functionAddress!.port : 0;
  const get = () =>
    new Promise<void>((resolve, reject) =>
      http.get({ host: "127.0.0.1", port, path: "/go-stock?name=book1", agent }, (res) => res.resume().on("end", resolve)).on("error", reject),
    );
  const requests = 1_000;
  const triggerRps: number[] = [];
  const grpcRps: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    for (let i = 0; i < requests; i++) await get();
    triggerRps.push(requests / ((performance.now() - t) / 1000));
    t = performance.now();
    for (let i = 0; i < requests; i++) await client.getState({ storeName: "state_demo", key: "book1" });
    grpcRps.push(requests / ((performance.now() - t) / 1000));
  }
  console.log(`HTTP trigger, Go stock function (one GetState inside), sequential: ${median(triggerRps).toFixed(0)} requests/s`);
  console.log(`GetState through the API (Connect, HTTP/1.1), sequential: ${median(grpcRps).toFixed(0)} requests/s`);
  agent.destroy();
  await runtime.shutdown();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
