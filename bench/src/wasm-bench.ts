/**
 * WebAssembly functions' costs: the "WebAssembly functions" section of `make bench`
 * (main.ts runs this script in a process of its own, not pinned, and appends its
 * Markdown), or alone:
 *
 *   npx tsc -b && node bench/dist/wasm-bench.js            # BENCH_REDIS=host:port adds the Redis rows
 *
 * One runtime in this process, functions on it:
 *   1. inline host call: a WAT guest on the main thread (execution: inline) making N
 *      get_state calls on the in-memory store in one invocation, each answered on the
 *      spot by the synchronous handler: wall time, this process's CPU time
 *      (process.cpuUsage, every thread) and the main thread's CPU time per call; and the
 *      cost of an empty inline invocation (its CPU-limit guard included);
 *   2. bridged host call: the same guest in a worker thread (SharedArrayBuffer,
 *      Atomics.wait: the bridge) minus an empty invocation, vs the same host call
 *      answered from JS on the main thread (the same pipeline, handler and codecs, no
 *      guest, no bridge), on the in-memory store and on Redis, where the gRPC path
 *      (GetState over a gRPC client, HTTP/2) is the reference: per-call medians (a guest
 *      timing each of its calls, each call from JS timed, in the same rounds) and the
 *      per-round means; on Redis also the guest on the main thread rewritten by asyncify
 *      (it suspends in each call), in the same interleaved rounds, with the main
 *      thread's CPU per call;
 *   3. cold start: read + compile + instantiate + first call, AssemblyScript and Go (the
 *      instance takes a spare worker thread, as every instance start after the first does),
 *      for bytes never compiled before and for the same bytes again (the compiled-module cache);
 *      and the same inline (fuel metering added, no thread; both the metered bytes and the module remembered);
 *      with Redis, AssemblyScript with asyncify too (fuel metering + binaryen's rewrite in a worker thread);
 *   4. HTTP trigger: sequential requests to the Go stock function (one GetState inside)
 *      over keep-alive HTTP/1.1, in a worker and inline, vs GetState through the gRPC API.
 * BENCH_WASM_ONLY=inline,hostcalls,cold,trigger runs only those parts.
 * Medians of BENCH_ROUNDS (5) rounds.
 */
import * as http from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createRuntimeClient, type RuntimeClient } from "@ottavo/generated/client/runtime-client";
import { formatListenAddress, Runtime } from "@ottavo/runtime-kernel";
import { buildAssemblyScriptGuest, buildGoGuest, buildWatGuest } from "@ottavo/test-support";
import { getStateRequest, loopGuest, timedLoopGuest } from "./wasm-guests";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
/** BENCH_WASM_ONLY=<part,...>: only those parts (inline, hostcalls, cold, trigger); all by default. */
const parts = ["inline", "hostcalls", "cold", "trigger"] as const;
const only = process.env.BENCH_WASM_ONLY?.split(",").map((part) => part.trim()).filter((part) => part !== "");
for (const part of only ?? []) {
  if (!(parts as readonly string[]).includes(part)) throw new Error(`BENCH_WASM_ONLY: no part '${part}'; the parts are ${parts.join(", ")}`);
}
const runs = (part: (typeof parts)[number]) => only === undefined || only.includes(part);
const redisAddress = process.env.BENCH_REDIS;
/** get_state calls in one invocation of the inline loop guest. */
const inlineCalls = 100_000;

/** The module with a custom section appended (same code, other bytes: the compiled-module cache has not seen it). */
function withCustomSection(bytes: Uint8Array, name: string): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const section = Uint8Array.from([0x00, 1 + nameBytes.length, nameBytes.length, ...nameBytes]);
  const out = new Uint8Array(bytes.length + section.length);
  out.set(bytes);
  out.set(section, bytes.length);
  return out;
}

/** The main thread's time on a CPU so far, in µs (Linux: /proc/self/task/<pid>/schedstat, in ns). */
function mainThreadCpu(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1000;
  } catch {
    return Number.NaN;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const call = { method: "", verb: "GET", query: "name=book1", contentType: "", data: new Uint8Array(0), headers: [] };

interface Measured {
  readonly what: string;
  readonly value: string;
  readonly goal?: string;
}

async function main(): Promise<void> {
  const stores = [{ name: "state_demo", calls: 2_000 }, ...(redisAddress ? [{ name: "state_redis", calls: 500 }] : [])];
  const [empty, inlineLoop, asStock, goStock, ...loops] = await Promise.all([
    buildWatGuest("bench-loop-0", loopGuest("state_demo", 0)),
    buildWatGuest(`bench-loop-state_demo-${inlineCalls}`, loopGuest("state_demo", inlineCalls)),
    buildAssemblyScriptGuest("examples/faas/assemblyscript/stock.ts"),
    buildGoGuest("examples/faas/go", "./stock"),
    ...stores.map((s) => buildWatGuest(`bench-loop-${s.name}-${s.calls}`, loopGuest(s.name, s.calls))),
  ]);
  const timedLoops = await Promise.all(stores.map((s) => buildWatGuest(`bench-timed-loop-${s.name}-${s.calls}`, timedLoopGuest(s.name, s.calls))));
  // The asyncify rows' empty invocation: a guest that imports get_state (so it is rewritten) and makes no call.
  const asyncEmpty = await buildWatGuest("bench-loop-0-async", loopGuest("state_redis", 0));
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-wasm-bench-"));
  const file = path.join(dir, "ottavo.yaml");
  writeFileSync(
    file,
    `app: { id: wasm-bench }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    state_demo: { type: in-memory }
${redisAddress ? `    state_redis: { type: redis, metadata: { redisHost: "${redisAddress}" } }\n` : ""}wasm:
  address: 127.0.0.1:0
  functions:
    empty: { path: ${empty}, execution: worker }
    empty-inline: { path: ${empty}, execution: inline }
    loop-inline: { path: ${inlineLoop}, cpuLimitMs: 60000, execution: inline }
    go-stock: { path: ${goStock}, execution: worker }
    go-stock-inline: { path: ${goStock}, components: [state_demo], execution: inline }
${stores.map((s, i) => `    loop-${s.name}: { path: ${loops[i]}, cpuLimitMs: 60000, execution: worker }`).join("\n")}
${stores.map((s, i) => `    timed-${s.name}: { path: ${timedLoops[i]}, cpuLimitMs: 60000, execution: worker }`).join("\n")}
${redisAddress ? `    async-empty: { path: ${asyncEmpty}, execution: asyncify }\n    async-loop-state_redis: { path: ${loops[1]}, cpuLimitMs: 60000, execution: asyncify }\n    async-timed-state_redis: { path: ${timedLoops[1]}, cpuLimitMs: 60000, execution: asyncify }\n` : ""}`,
  );
  const runtime = await Runtime.start({ configFile: file, shutdownTimeoutMs: 2_000, log: { info: () => {}, warn: console.warn, error: console.error } });
  const out: Measured[] = [];
  try {
    const host = runtime.functionHost!;
    const client: RuntimeClient = createRuntimeClient(createGrpcTransport({ baseUrl: `http://${formatListenAddress(runtime.apiAddress)}` }));
    for (const s of stores) {
      await client.saveState({ storeName: s.name, states: [{ key: "k", value: new TextEncoder().encode("v") }, { key: "book1", value: new TextEncoder().encode("100") }] });
    }

    // 1. Host calls from an inline instance, answered on the spot on this thread: first, so that the other parts'
    //    garbage (Redis and gRPC clients) is not being marked by V8's helper threads meanwhile (their CPU time is in
    //    the process's). The main thread's CPU time (Linux schedstat) is the inline calls' own.
    if (runs("inline")) {
      const wall: number[] = [];
      const cpu: number[] = [];
      const mainCpu: number[] = [];
      const emptyWall: number[] = [];
      const emptyCpu: number[] = [];
      const empties = 2_000;
      for (let r = 0; r < rounds; r++) {
        let c = process.cpuUsage();
        let t = performance.now();
        for (let n = 0; n < empties; n++) await host.call("empty-inline", call);
        const oneEmpty = (performance.now() - t) / empties;
        let used = process.cpuUsage(c);
        const oneEmptyCpu = (used.user + used.system) / 1000 / empties;
        emptyWall.push(oneEmpty * 1000);
        emptyCpu.push(oneEmptyCpu * 1000);
        c = process.cpuUsage();
        const m0 = mainThreadCpu();
        t = performance.now();
        await host.call("loop-inline", call);
        const ms = performance.now() - t;
        used = process.cpuUsage(c);
        mainCpu.push((mainThreadCpu() - m0) / inlineCalls);
        wall.push(((ms - oneEmpty) / inlineCalls) * 1000);
        cpu.push((((used.user + used.system) / 1000 - oneEmptyCpu) / inlineCalls) * 1000);
      }
      out.push({
        what: "host call get_state (in-memory): inline guest (main thread) → synchronous handler, no bridge; wall (this process's CPU; the main thread's CPU)",
        value: `${median(wall).toFixed(2)} µs (${median(cpu).toFixed(2)} µs; main thread ${median(mainCpu).toFixed(2)} µs)`,
        goal: "< 2 µs (sync)",
      });
      out.push({
        what: "an empty inline invocation (function call, CPU-limit guard, pool), wall (CPU)",
        value: `${median(emptyWall).toFixed(1)} µs (${median(emptyCpu).toFixed(1)} µs)`,
      });
    }

    // 2. Host calls: through the bridge, from JS, and the gRPC path. Each round: the loop guest (N calls) less an
    //    empty invocation, N calls from JS, N gRPC calls (per-round means); then the timed loop guest (each of its N
    //    calls timed by the guest, WASI's monotonic clock) and N calls from JS each timed (per-call durations). The
    //    per-call medians are the figures a few slow backend replies among hundreds do not move; the means are kept.
    for (const [i, s] of runs("hostcalls") ? stores.entries() : []) {
      const bridged: number[] = [];
      const fromJs: number[] = [];
      const grpc: number[] = [];
      const bridgedEach: number[] = [];
      const fromJsEach: number[] = [];
      // Redis only: the guest on the main thread, rewritten by asyncify.
      const suspends = s.name === "state_redis";
      const suspended: number[] = [];
      const suspendedMain: number[] = [];
      const suspendedEach: number[] = [];
      const fromJsMain: number[] = [];
      const request = getStateRequest(s.name).bytes;
      // One warm-up round, not counted.
      for (let r = -1; r < rounds; r++) {
        let t = performance.now();
        await host.call(`loop-${s.name}`, call);
        const withCalls = performance.now() - t;
        t = performance.now();
        await host.call("empty", call);
        const bridgedMean = ((withCalls - (performance.now() - t)) / s.calls) * 1000;
        let suspendedMean = 0;
        let suspendedMainMean = 0;
        let suspendedTimed: Uint8Array | undefined;
        if (suspends) {
          let m = mainThreadCpu();
          t = performance.now();
          await host.call("async-loop-state_redis", call);
          const loopMs = performance.now() - t;
          const loopMain = mainThreadCpu() - m;
          m = mainThreadCpu();
          t = performance.now();
          await host.call("async-empty", call);
          suspendedMean = ((loopMs - (performance.now() - t)) / s.calls) * 1000;
          suspendedMainMean = (loopMain - (mainThreadCpu() - m)) / s.calls;
          suspendedTimed = (await host.call("async-timed-state_redis", call)).data;
        }
        const m0 = mainThreadCpu();
        t = performance.now();
        for (let n = 0; n < s.calls; n++) await host.hostCallFromJs("ottavo.get_state", request);
        const fromJsMean = ((performance.now() - t) / s.calls) * 1000;
        const fromJsMainMean = (mainThreadCpu() - m0) / s.calls;
        t = performance.now();
        for (let n = 0; n < s.calls; n++) await client.getState({ storeName: s.name, key: "k" });
        const grpcMean = ((performance.now() - t) / s.calls) * 1000;
        const timed = await host.call(`timed-${s.name}`, call);
        const each: number[] = [];
        for (let n = 0; n < s.calls; n++) {
          t = performance.now();
          await host.hostCallFromJs("ottavo.get_state", request);
          each.push((performance.now() - t) * 1000);
        }
        if (r < 0) continue;
        bridged.push(bridgedMean);
        fromJs.push(fromJsMean);
        grpc.push(grpcMean);
        for (const ns of new BigInt64Array(Uint8Array.from(timed.data).buffer)) bridgedEach.push(Number(ns) / 1000);
        fromJsEach.push(...each);
        fromJsMain.push(fromJsMainMean);
        if (suspendedTimed !== undefined) {
          suspended.push(suspendedMean);
          suspendedMain.push(suspendedMainMean);
          for (const ns of new BigInt64Array(Uint8Array.from(suspendedTimed).buffer)) suspendedEach.push(Number(ns) / 1000);
        }
      }
      const store = i === 0 ? "in-memory" : "Redis";
      const calls = `${bridgedEach.length} calls`;
      out.push({
        what: `host call get_state (${store}): guest in a worker → bridge → handler; per-call median of ${calls} (timed by the guest), and the median of the per-round means`,
        value: `${median(bridgedEach).toFixed(1)} µs (mean ${median(bridged).toFixed(1)} µs)`,
      });
      out.push({
        what: `the same host call answered from JS on the main thread (pipeline + handler + codecs, no bridge) (${store}); per-call median of ${calls}, and the median of the per-round means`,
        value: `${median(fromJsEach).toFixed(1)} µs (mean ${median(fromJs).toFixed(1)} µs)`,
      });
      if (suspends) {
        out.push({
          what: `host call get_state (Redis): guest on the main thread rewritten by asyncify, suspended in each call (execution: asyncify; what auto picks for a module that is not too large); per-call median of ${suspendedEach.length} calls (timed by the guest), and the median of the per-round means`,
          value: `${median(suspendedEach).toFixed(1)} µs (mean ${median(suspended).toFixed(1)} µs)`,
        });
        out.push({
          what: "asyncify overhead on Redis: suspended − from JS, per-call medians (same rounds, same Redis, interleaved)",
          value: `${(median(suspendedEach) - median(fromJsEach)).toFixed(1)} µs`,
          goal: "< 30 µs",
        });
        out.push({
          what: "the same from the per-round means; and the main thread's CPU per call, asyncify vs from JS (Linux schedstat)",
          value: `${(median(suspended) - median(fromJs)).toFixed(1)} µs; CPU ${median(suspendedMain).toFixed(1)} vs ${median(fromJsMain).toFixed(1)} µs`,
        });
      }
      if (i > 0) {
        out.push({
          what: "bridge overhead on Redis: bridged (worker) − from JS, per-call medians (same rounds, same Redis, interleaved)",
          value: `${(median(bridgedEach) - median(fromJsEach)).toFixed(1)} µs`,
          goal: "< 30 µs",
        });
        out.push({
          what: "the same from the per-round means (a few slow Redis replies among hundreds move a mean)",
          value: `${(median(bridged) - median(fromJs)).toFixed(1)} µs`,
        });
      }
      out.push({ what: `GetState over the gRPC API, sequential, gRPC client on HTTP/2 in the same process (${store}); mean`, value: `${median(grpc).toFixed(1)} µs` });
    }

    // 3. Cold start: bytes never compiled before (a copy with a custom section of its own each round), and a
    //    re-install of the same bytes (the compiled-module cache has them). Rounds alternate the two.
    for (const [name, wasm, goal] of runs("cold")
      ? ([
          ["AssemblyScript stock", asStock, "< 20 ms"],
          ["Go stock", goStock, "< 100 ms"],
        ] as const)
      : []) {
      const compiled: number[] = [];
      const cached: number[] = [];
      const inlineCompiled: number[] = [];
      const inlineCached: number[] = [];
      const asyncCompiled: number[] = [];
      const asyncCached: number[] = [];
      // asyncify for AssemblyScript, with Redis granted (so its get_state waits); Go modules are too large for the rewrite.
      const asyncified = redisAddress !== undefined && name.startsWith("AssemblyScript");
      const bytes = readFileSync(wasm);
      const coldStart = async (id: string, file: string, execution: "worker" | "inline" | "asyncify" = "worker"): Promise<number> => {
        // As the row says: the spare thread the instance takes has loaded its script (back-to-back rounds would otherwise find it booting);
        // and no asyncify rewrite of an earlier round is still running or its thread ending (it would take CPU from this one).
        await host.spareReady();
        await host.rewritesIdle();
        const components = execution === "asyncify" ? ["state_demo", "state_redis"] : ["state_demo"];
        const t = performance.now();
        await host.install({ name: id, path: file, instances: 1, maxMemoryPages: 1024, cpuLimitMs: 1000, bufferCapBytes: 1 << 20, watch: false, subscriptions: [], execution, components });
        await host.call(id, call);
        const ms = performance.now() - t;
        await host.uninstall(id);
        return ms;
      };
      const kind = name.split(" ")[0];
      await coldStart(`cold-${kind}-warm`, wasm);
      // The "same bytes again" rows remember the original bytes' rewrite from here.
      if (asyncified) await coldStart(`cold-${kind}-warm-async`, wasm, "asyncify");
      for (let r = 0; r < rounds; r++) {
        const fresh = path.join(dir, `cold-${kind}-${r}.wasm`);
        writeFileSync(fresh, withCustomSection(bytes, `ottavo-bench-${process.pid}-${r}`));
        compiled.push(await coldStart(`cold-${kind}-${r}`, fresh));
        cached.push(await coldStart(`cold-${kind}-${r}-again`, wasm));
        const freshInline = path.join(dir, `cold-${kind}-${r}-inline.wasm`);
        writeFileSync(freshInline, withCustomSection(bytes, `ottavo-bench-${process.pid}-${r}-inline`));
        inlineCompiled.push(await coldStart(`cold-${kind}-${r}-inline`, freshInline, "inline"));
        inlineCached.push(await coldStart(`cold-${kind}-${r}-inline-again`, wasm, "inline"));
        if (asyncified) {
          const freshAsync = path.join(dir, `cold-${kind}-${r}-async.wasm`);
          writeFileSync(freshAsync, withCustomSection(bytes, `ottavo-bench-${process.pid}-${r}-async`));
          asyncCompiled.push(await coldStart(`cold-${kind}-${r}-async`, freshAsync, "asyncify"));
          asyncCached.push(await coldStart(`cold-${kind}-${r}-async-again`, wasm, "asyncify"));
        }
      }
      const what = "cold start (read + compile + instantiate + first call; a spare worker thread ready, as for every instance start after the runtime's first)";
      out.push({ what: `${what}, ${name}, bytes never compiled before`, value: `${median(compiled).toFixed(1)} ms`, goal });
      out.push({ what: `${what}, ${name}, the same bytes again (compiled-module cache)`, value: `${median(cached).toFixed(1)} ms`, goal });
      const inline = "cold start inline (read + fuel metering + compile + instantiate + first call, on the main thread)";
      out.push({ what: `${inline}, ${name}, bytes never compiled before`, value: `${median(inlineCompiled).toFixed(1)} ms`, goal });
      out.push({ what: `${inline}, ${name}, the same bytes again (the metered form and its compiled module remembered)`, value: `${median(inlineCached).toFixed(1)} ms`, goal });
      if (asyncified) {
        const rewritten =
          "cold start with execution: asyncify, which waits for the rewrite (read + fuel metering + binaryen's asyncify in a worker thread that loads binaryen + compile + instantiate + first call, suspended in its get_state; auto serves new bytes from workers meanwhile: the worker rows)";
        out.push({ what: `${rewritten}, ${name}, bytes never compiled before`, value: `${median(asyncCompiled).toFixed(1)} ms` });
        out.push({ what: `${rewritten}, ${name}, the same bytes again (the rewrite and its compiled module remembered)`, value: `${median(asyncCached).toFixed(1)} ms`, goal });
      }
    }

    // 4. HTTP trigger vs gRPC.
    if (runs("trigger")) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const port = runtime.functionAddress!.kind === "tcp" ? runtime.functionAddress!.port : 0;
      const get = (id: string) =>
        new Promise<void>((resolve, reject) =>
          http.get({ host: "127.0.0.1", port, path: `/${id}?name=book1`, agent }, (res) => res.resume().on("end", resolve)).on("error", reject),
        );
      const requests = 1_000;
      const triggerRps: number[] = [];
      const inlineRps: number[] = [];
      const grpcRps: number[] = [];
      for (let r = 0; r < rounds; r++) {
        let t = performance.now();
        for (let i = 0; i < requests; i++) await get("go-stock");
        triggerRps.push(requests / ((performance.now() - t) / 1000));
        t = performance.now();
        for (let i = 0; i < requests; i++) await get("go-stock-inline");
        inlineRps.push(requests / ((performance.now() - t) / 1000));
        t = performance.now();
        for (let i = 0; i < requests; i++) await client.getState({ storeName: "state_demo", key: "book1" });
        grpcRps.push(requests / ((performance.now() - t) / 1000));
      }
      agent.destroy();
      out.push({ what: "HTTP trigger, Go stock function (one GetState inside), sequential keep-alive HTTP/1.1, in a worker", value: `${median(triggerRps).toFixed(0)} requests/s` });
      out.push({ what: "the same, the function inline (execution: inline)", value: `${median(inlineRps).toFixed(0)} requests/s` });
      out.push({ what: "GetState through the gRPC API (HTTP/2), sequential, same process", value: `${median(grpcRps).toFixed(0)} requests/s` });
    }
  } finally {
    await runtime.shutdown();
  }
  const lines = [
    "### WebAssembly functions",
    "",
    `\`node bench/dist/wasm-bench.js\`, one runtime in one process; medians of ${rounds} rounds${redisAddress ? "" : " (no BENCH_REDIS: no Redis rows)"}.`,
    "",
    "| measurement | value | goal |",
    "|---|--:|---|",
    ...out.map((m) => `| ${m.what} | ${m.value} | ${m.goal ?? ""} |`),
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
