/**
 * The async host-call paths alone, for A/B work on them (wasm-bench.ts has the make-bench
 * rows): a WAT guest making N get_state calls in one invocation minus an empty
 * invocation, in a worker thread (guest → bridge → handler) and on the main thread
 * rewritten by asyncify (the guest suspends in each call that waits: with Redis granted,
 * every get_state waits, the in-memory store's too), vs the same host call answered from
 * JS on the main thread, on the in-memory store and, with BENCH_REDIS=host:port, on
 * Redis. Rounds are interleaved (worker, asyncify, from JS, ...); per call it prints the
 * median wall time, the process's CPU time (user + system, every thread), the main
 * thread's CPU time (Linux schedstat), and the load average; and per-call medians (a
 * guest timing each get_state with WASI's clock, and each call from JS timed), which one
 * slow backend reply in hundreds does not move.
 *
 *   npx tsc -b && BENCH_REDIS=127.0.0.1:6379 node bench/dist/wasm-bridge-bench.js
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { Runtime } from "@ottavo/runtime-kernel";
import { buildWatGuest } from "@ottavo/test-support";
import { getStateRequest, loopGuest, timedLoopGuest } from "./wasm-guests";

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const redisAddress = process.env.BENCH_REDIS;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const call = { method: "", verb: "GET", query: "", contentType: "", data: new Uint8Array(0), headers: [] };

/** The main thread's time on a CPU so far, in µs (Linux: /proc/self/task/<pid>/schedstat, in ns). */
function mainThreadCpu(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1000;
  } catch {
    return Number.NaN;
  }
}

/** Wall, process CPU (every thread) and main-thread CPU microseconds of fn. */
async function measure(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number; main: number }> {
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpu();
  const t = performance.now();
  await fn();
  const wall = (performance.now() - t) * 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: cpu.user + cpu.system, main: mainThreadCpu() - main0 };
}

async function main(): Promise<void> {
  const stores = [{ name: "state_demo", calls: Number(process.env.BENCH_CALLS ?? 2_000) }, ...(redisAddress ? [{ name: "state_redis", calls: 500 }] : [])];
  const [empty, ...loops] = await Promise.all([
    buildWatGuest("bench-loop-0", loopGuest("state_demo", 0)),
    ...stores.map((s) => buildWatGuest(`bench-loop-${s.name}-${s.calls}`, loopGuest(s.name, s.calls))),
  ]);
  const timed = await Promise.all(stores.map((s) => buildWatGuest(`bench-timed-loop-${s.name}-${s.calls}`, timedLoopGuest(s.name, s.calls))));
  // The empty invocation of the asyncify rows: a guest that imports get_state (so it is rewritten) and makes no call.
  const asyncEmpty = await buildWatGuest("bench-loop-0-async", loopGuest("state_redis", 0));
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-wasm-bridge-bench-"));
  const file = path.join(dir, "ottavo.yaml");
  const functions = (prefix: string, execution: string) =>
    [
      ...stores.map((s, i) => `    ${prefix}loop-${s.name}: { path: ${loops[i]}, cpuLimitMs: 60000, execution: ${execution} }`),
      ...stores.map((s, i) => `    ${prefix}timed-${s.name}: { path: ${timed[i]}, cpuLimitMs: 60000, execution: ${execution} }`),
    ].join("\n");
  writeFileSync(
    file,
    `app: { id: wasm-bridge-bench }
api: { address: 127.0.0.1:0 }
components:
  state:
    state_demo: { type: in-memory }
${redisAddress ? `    state_redis: { type: redis, metadata: { redisHost: "${redisAddress}" } }\n` : ""}wasm:
  address: 127.0.0.1:0
  functions:
    empty: { path: ${empty}, execution: worker }
    async-empty: { path: ${asyncEmpty}, execution: asyncify }
${functions("", "worker")}
${functions("async-", "asyncify")}
`,
  );
  const runtime = await Runtime.start({ configFile: file, shutdownTimeoutMs: 2_000, log: { info: () => {}, warn: console.warn, error: console.error } });
  try {
    const host = runtime.functionHost!;
    for (const s of stores) {
      const request = getStateRequest(s.name).bytes;
      await host.hostCallFromJs("ottavo.save_state", saveStateRequest(s.name));
      const paths = [
        { name: "worker", prefix: "", empty: "empty" },
        { name: "asyncify", prefix: "async-", empty: "async-empty" },
      ].map((p) => ({ ...p, wall: [] as number[], cpu: [] as number[], main: [] as number[], each: [] as number[] }));
      const jsWall: number[] = [];
      const jsCpu: number[] = [];
      const jsMain: number[] = [];
      // Per call, every round's calls together: timed by the guest around each get_state, and around each call from JS.
      const jsEach: number[] = [];
      // One warm-up round, not counted.
      for (let r = -1; r < rounds; r++) {
        for (const p of paths) {
          const withCalls = await measure(() => host.call(`${p.prefix}loop-${s.name}`, call));
          const none = await measure(() => host.call(p.empty, call));
          const timedAnswer = await host.call(`${p.prefix}timed-${s.name}`, call);
          if (r < 0) continue;
          const nanos = new BigInt64Array(Uint8Array.from(timedAnswer.data).buffer);
          for (const ns of nanos) p.each.push(Number(ns) / 1000);
          p.wall.push((withCalls.wall - none.wall) / s.calls);
          p.cpu.push((withCalls.cpu - none.cpu) / s.calls);
          p.main.push((withCalls.main - none.main) / s.calls);
        }
        const js = await measure(async () => {
          for (let n = 0; n < s.calls; n++) await host.hostCallFromJs("ottavo.get_state", request);
        });
        const each: number[] = [];
        for (let n = 0; n < s.calls; n++) {
          const t = performance.now();
          await host.hostCallFromJs("ottavo.get_state", request);
          each.push((performance.now() - t) * 1000);
        }
        if (r < 0) continue;
        jsEach.push(...each);
        jsWall.push(js.wall / s.calls);
        jsCpu.push(js.cpu / s.calls);
        jsMain.push(js.main / s.calls);
      }
      const store = s.name === "state_demo" ? "in-memory" : "Redis";
      const f = (n: number) => n.toFixed(1).padStart(7);
      console.log(`${store.padEnd(9)} from JS per call (µs, median of ${rounds}): wall ${f(median(jsWall))} cpu ${f(median(jsCpu))} (main thread ${f(median(jsMain))})`);
      for (const p of paths) {
        console.log(
          `${store.padEnd(9)} ${p.name.padEnd(8)} per call (µs, median of ${rounds}): wall ${f(median(p.wall))} cpu ${f(median(p.cpu))} (main thread ${f(median(p.main))}) | overhead over from JS: wall ${f(median(p.wall) - median(jsWall))} cpu ${f(median(p.cpu) - median(jsCpu))} main thread ${f(median(p.main) - median(jsMain))}`,
        );
        console.log(
          `${store.padEnd(9)} ${p.name.padEnd(8)} per call, median of ${p.each.length} calls (µs): ${f(median(p.each))} (as the guest times it) | from JS ${f(median(jsEach))} | overhead ${f(median(p.each) - median(jsEach))}`,
        );
      }
    }
  } finally {
    await runtime.shutdown();
  }
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
}

/** SaveStateRequest{store_name, states: [{key: "k", value: "v"}]}. */
function saveStateRequest(store: string): Uint8Array {
  const item = [0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76];
  return new Uint8Array([0x0a, store.length, ...new TextEncoder().encode(store), 0x12, item.length, ...item]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
