/**
 * Service invocation's cost, run by hand (not part of `make bench`):
 *
 *   make bench-tools build && GOBIN=$PWD/.cache/tools/bin go install github.com/tsenart/vegeta/v12@v12.12.0
 *   node bench/dist/invoke-bench.js
 *
 * At a fixed 1,000 requests per second (p50 and p99), servers pinned to one core
 * and load generators (none in Node) to the other:
 *   1. the HTTP service called directly (vegeta, HTTP/1.1 keep-alive);
 *   2. InvokeService through one runtime to that service (ghz, gRPC);
 *   3. app -> runtime A -> runtime B -> app: InvokeService on A for app "b",
 *      resolved by a static table to runtime B, which delivers to the service (ghz);
 *   4. InvokeService on runtime B for its own app (ghz): with 3, the second hop's
 *      cost measured with one load generator.
 * The cases run interleaved for BENCH_ROUNDS rounds (3) of BENCH_SECONDS (5);
 * medians are printed with each runtime's CPU share during its runs.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { startRuntime, stopAllRuntimes, type RunningRuntime } from "@ottavo/test-support";
import { ghz, loadCpu, type LoadResult } from "./load-generators";
import { cpuShare, pin, benchNice } from "./process-stats";
import { startScriptServer } from "./processes";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const rate = Number(process.env.BENCH_RPS ?? 1000);
const serverCpu = process.env.BENCH_SERVER_CPU ?? "0";
const repoRoot = path.resolve(__dirname, "..", "..");
const vegetaPath = process.env.VEGETA ?? path.join(repoRoot, ".cache", "tools", "bin", "vegeta");

/** vegeta at a fixed rate against one URL; latencies in microseconds. */
function vegeta(url: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const script = `echo "GET ${url}" | ${vegetaPath} attack -rate=${rate} -duration=${seconds}s -keepalive=true | ${vegetaPath} report -type=json`;
    execFile("nice", ["-n", String(benchNice), "taskset", "-c", loadCpu, "sh", "-c", script], { timeout: (seconds + 30) * 1000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`vegeta failed: ${error.message}\n${stderr}`));
      const report = JSON.parse(stdout) as { latencies: Record<string, number>; requests: number; success: number; throughput: number };
      resolve({
        rps: report.throughput,
        p50: report.latencies["50th"] / 1000,
        p99: report.latencies["99th"] / 1000,
        mean: report.latencies.mean / 1000,
        ok: Math.round(report.requests * report.success),
        failed: report.requests - Math.round(report.requests * report.success),
      });
    });
  });
}

const invoke = (id: string) => ({
  call: "spec.proto.runtime.v1.Runtime/InvokeService",
  data: { id, message: { method: "hello", http_extension: { verb: "GET" } } },
  concurrency: 16,
  seconds,
  rps: rate,
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (us: number) => (us / 1000).toFixed(3);

async function main(): Promise<void> {
  if (!existsSync(vegetaPath)) throw new Error(`${vegetaPath} is missing; see the comment at the top of invoke-bench.ts`);
  const service = await startScriptServer("invoke-service.js");
  pin(service.pid, serverCpu);
  const token = "bench-token";
  const runtimeB: RunningRuntime = await startRuntime({
    config: `app: { id: b, httpPort: ${service.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
invoke: { token: ${token} }
`,
  });
  const runtimeA: RunningRuntime = await startRuntime({
    config: `app: { id: a }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
invoke:
  token: ${token}
  targets: { svc: { url: "${service.url}" } }
components:
  nameresolution:
    table: { type: static, apps: { b: "127.0.0.1:${runtimeB.apiPort}" } }
`,
  });
  for (const runtime of [runtimeA, runtimeB]) pin(runtime.process.pid!, serverCpu);

  const cases: Array<{ name: string; run: () => Promise<LoadResult>; pids: number[] }> = [
    { name: "direct: vegeta -> HTTP service", run: () => vegeta(`${service.url}/hello`), pids: [] },
    { name: "app -> runtime -> HTTP service", run: () => ghz(`127.0.0.1:${runtimeA.apiPort}`, invoke("svc")), pids: [runtimeA.process.pid!] },
    { name: "app -> runtime B -> its app", run: () => ghz(`127.0.0.1:${runtimeB.apiPort}`, invoke("b")), pids: [runtimeB.process.pid!] },
    {
      name: "app -> runtime A -> runtime B -> app",
      run: () => ghz(`127.0.0.1:${runtimeA.apiPort}`, invoke("b")),
      pids: [runtimeA.process.pid!, runtimeB.process.pid!],
    },
  ];
  // Warm up every path (JIT, connections) before measuring.
  for (const c of cases) await c.run();

  const figures = new Map<string, { p50: number[]; p99: number[]; rps: number[]; failed: number; cpu: number[][] }>();
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      let result: LoadResult;
      const cpu: number[] = [];
      if (c.pids.length === 0) result = await c.run();
      else {
        // CPU share of each runtime while the case runs (nested: one measurement wraps the next).
        const measure = async (pids: number[]): Promise<LoadResult> => {
          if (pids.length === 0) return c.run();
          const { result: inner, share } = await cpuShare(pids[0]!, () => measure(pids.slice(1)));
          cpu.unshift(share);
          return inner;
        };
        result = await measure(c.pids);
      }
      const entry = figures.get(c.name) ?? { p50: [], p99: [], rps: [], failed: 0, cpu: [] };
      entry.p50.push(result.p50);
      entry.p99.push(result.p99);
      entry.rps.push(result.rps);
      entry.failed += result.failed;
      entry.cpu.push(cpu);
      figures.set(c.name, entry);
    }
  }

  console.log(`\nInvokeService at ${rate} rps, ${rounds} interleaved rounds of ${seconds} s, medians (ms); ${new Date().toISOString()}\n`);
  console.log("| path | p50 | p99 | rps | failed | runtime CPU (share of a core) |");
  console.log("|---|--:|--:|--:|--:|---|");
  for (const [name, f] of figures) {
    const cpu = f.cpu[0]!.map((_, i) => `${Math.round(median(f.cpu.map((c) => c[i]!)) * 100)} %`).join(" + ");
    console.log(`| ${name} | ${ms(median(f.p50))} | ${ms(median(f.p99))} | ${Math.round(median(f.rps))} | ${f.failed} | ${cpu || "-"} |`);
  }
  const p50 = (name: string) => median(figures.get(name)!.p50);
  const p99 = (name: string) => median(figures.get(name)!.p99);
  const [direct, one, local, two] = cases.map((c) => c.name) as [string, string, string, string];
  console.log(`\nadded by one runtime (vs direct, different load generators): p50 ${ms(p50(one) - p50(direct))} ms, p99 ${ms(p99(one) - p99(direct))} ms`);
  console.log(`added by the second runtime (A->B->app vs B->app, both ghz): p50 ${ms(p50(two) - p50(local))} ms, p99 ${ms(p99(two) - p99(local))} ms`);

  await stopAllRuntimes();
  await service.stop();
}

main().catch(async (error) => {
  console.error(error);
  await stopAllRuntimes();
  process.exit(1);
});
