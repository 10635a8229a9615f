/**
 * The host-call bridge alone, for A/B work on it (wasm-bench.ts has the make-bench rows):
 * a WAT guest making N get_state calls in one invocation (guest → bridge → handler)
 * minus an empty invocation, vs the same host call answered from JS on the main thread,
 * on the in-memory store and, with BENCH_REDIS=host:port, on Redis. Rounds are
 * interleaved (bridged, from JS, bridged, ...); per call it prints the median wall time,
 * the process's CPU time (user + system, every thread), the main thread's CPU time
 * (Linux schedstat) for the bridged calls, and the load average; and per-call medians
 * (a guest timing each get_state with WASI's clock, and each call from JS timed), which
 * one slow backend reply in hundreds does not move.
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
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-wasm-bridge-bench-"));
  const file = path.join(dir, "ottavo.yaml");
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
${stores.map((s, i) => `    loop-${s.name}: { path: ${loops[i]}, cpuLimitMs: 60000, execution: worker }`).join("\n")}
${stores.map((s, i) => `    timed-${s.name}: { path: ${timed[i]}, cpuLimitMs: 60000, execution: worker }`).join("\n")}
`,
  );
  const runtime = await Runtime.start({ configFile: file, shutdownTimeoutMs: 2_000, log: { info: () => {}, warn: console.warn, error: console.error } });
  try {
    const host = runtime.functionHost!;
    for (const s of stores) {
      const request = getStateRequest(s.name).bytes;
      await host.hostCallFromJs("ottavo.save_state", saveStateRequest(s.name));
      const bridgedWall: number[] = [];
      const bridgedCpu: number[] = [];
      const jsWall: number[] = [];
      const jsCpu: number[] = [];
      const bridgedMain: number[] = [];
      // Per call, every round's calls together: timed by the guest around each get_state, and around each call from JS.
      const bridgedEach: number[] = [];
      const jsEach: number[] = [];
      // One warm-up round, not counted.
      for (let r = -1; r < rounds; r++) {
        const withCalls = await measure(() => host.call(`loop-${s.name}`, call));
        const none = await measure(() => host.call("empty", call));
        const js = await measure(async () => {
          for (let n = 0; n < s.calls; n++) await host.hostCallFromJs("ottavo.get_state", request);
        });
        const timedAnswer = await host.call(`timed-${s.name}`, call);
        const each: number[] = [];
        for (let n = 0; n < s.calls; n++) {
          const t = performance.now();
          await host.hostCallFromJs("ottavo.get_state", request);
          each.push((performance.now() - t) * 1000);
        }
        if (r < 0) continue;
        const nanos = new BigInt64Array(Uint8Array.from(timedAnswer.data).buffer);
        for (const ns of nanos) bridgedEach.push(Number(ns) / 1000);
        jsEach.push(...each);
        bridgedWall.push((withCalls.wall - none.wall) / s.calls);
        bridgedCpu.push((withCalls.cpu - none.cpu) / s.calls);
        bridgedMain.push((withCalls.main - none.main) / s.calls);
        jsWall.push(js.wall / s.calls);
        jsCpu.push(js.cpu / s.calls);
      }
      const store = s.name === "state_demo" ? "in-memory" : "Redis";
      const f = (n: number) => n.toFixed(1).padStart(7);
      console.log(
        `${store.padEnd(9)} per call (µs, median of ${rounds}): bridged wall ${f(median(bridgedWall))} cpu ${f(median(bridgedCpu))} (main thread ${f(median(bridgedMain))}) | from JS wall ${f(median(jsWall))} cpu ${f(median(jsCpu))} | overhead wall ${f(median(bridgedWall) - median(jsWall))} cpu ${f(median(bridgedCpu) - median(jsCpu))}`,
      );
      console.log(
        `${store.padEnd(9)} per call, median of ${bridgedEach.length} calls (µs): bridged ${f(median(bridgedEach))} (as the guest times it) | from JS ${f(median(jsEach))} | overhead ${f(median(bridgedEach) - median(jsEach))}`,
      );
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
