/**
 * Service invocation's cost, part of `make bench` (main.ts calls
 * measureInvocation) and runnable alone once make bench-tools and the build ran:
 *
 *   node bench/dist/invoke-bench.js
 *
 * At a fixed 1,000 requests per second (p50 and p99), servers pinned to one core
 * and the load generator to the other, every case measured by the same load
 * generator, vegeta (Go), so the differences are the servers' and not two
 * generators' (ghz's floor alone is ~0.4 ms at 1,000 rps on this machine):
 *   1. the HTTP service called directly (HTTP/1.1 keep-alive);
 *   2. InvokeService through one runtime to that service (gRPC over h2c);
 *   3. InvokeService on runtime B for its own app (the same service);
 *   4. app -> runtime A -> runtime B -> app: InvokeService on A for app "b",
 *      resolved by a static table to runtime B, which delivers to the service
 *      (A calls B with Connect unary, application/proto, over HTTP/1.1:
 *      docs/runtime-to-runtime.md).
 * vegeta reads no grpc-status, so each gRPC case is first run through ghz, which
 * does, and the vegeta runs are checked to have read the successful answer's
 * length for every call. The added cost of a hop: 2 - 1 (the runtime, including
 * the app's leg being gRPC instead of HTTP/1.1), and 4 - 3 (a runtime between
 * the app and the runtime delivering; the app's leg gRPC in both). The cases run
 * interleaved for BENCH_ROUNDS rounds (3) of BENCH_SECONDS (3); the median round
 * of each is reported with the runtimes' CPU share during it.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { HTTPExtension_Verb, InvokeServiceRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { startRuntime, stopAllRuntimes, type RunningRuntime } from "@ottavo/test-support";
import { ghz, loadCpu, type LoadResult } from "./load-generators";
import { benchNice, cpuShare, pin } from "./process-stats";
import { startScriptServer, type ScriptServer } from "./processes";

const repoRoot = path.resolve(__dirname, "..", "..");
export const vegetaPath = process.env.VEGETA ?? path.join(repoRoot, ".cache", "tools", "bin", "vegeta");
const invokePath = "/spec.proto.runtime.v1.Runtime/InvokeService";

export interface InvocationSettings {
  readonly seconds: number;
  readonly rounds: number;
  /** Requests per second (1,000). */
  readonly rate: number;
  readonly serverCpu: string;
  /** A runtime's cli.js other than this checkout's (BENCH_BASELINE), measured alongside. */
  readonly baselineCli?: string;
  readonly log: (line: string) => void;
}

/** One case's median round. */
export interface InvocationRow {
  readonly name: string;
  readonly result: LoadResult;
  /** CPU share of each runtime on the path during the run, in path order. */
  readonly cpu: readonly number[];
}

export interface InvocationFigures {
  readonly rows: readonly InvocationRow[];
  /** "added by one runtime: p50 ..., p99 ..." lines, with the goal. */
  readonly summary: readonly string[];
}

/** A vegeta target line file and its flags: HTTP/1.1 GET, or a gRPC call over h2c. */
interface VegetaTarget {
  readonly url: string;
  readonly method: "GET" | "POST";
  readonly headers?: readonly string[];
  readonly body?: Uint8Array;
  readonly h2c?: boolean;
  /** The body length of a successful answer; every call must have read it. */
  readonly answerBytes: number;
}

/** vegeta at a fixed rate against one target; latencies in microseconds. */
function vegeta(target: VegetaTarget, rate: number, seconds: number): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-vegeta-"));
  const lines = [`${target.method} ${target.url}`, ...(target.headers ?? [])];
  if (target.body !== undefined) {
    writeFileSync(path.join(dir, "body"), target.body);
    lines.push(`@${path.join(dir, "body")}`);
  }
  writeFileSync(path.join(dir, "targets"), `${lines.join("\n")}\n`);
  const attack = [`${vegetaPath} attack -targets=${dir}/targets -rate=${rate}/s -duration=${seconds}s -keepalive=true`, target.h2c ? "-h2c" : ""].join(" ");
  const script = `${attack} | ${vegetaPath} report -type=json`;
  return new Promise((resolve, reject) => {
    execFile("nice", ["-n", String(benchNice), "taskset", "-c", loadCpu, "sh", "-c", script], { timeout: (seconds + 30) * 1000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`vegeta failed: ${error.message}\n${stderr}`));
      const report = JSON.parse(stdout) as VegetaReport;
      const ok = Math.round(report.requests * report.success);
      // A gRPC error is a 200 with no message (grpc-status in the trailers): it reads fewer bytes.
      const short = report.bytes_in.total < ok * target.answerBytes;
      resolve({
        rps: report.throughput,
        p50: report.latencies["50th"] / 1000,
        p99: report.latencies["99th"] / 1000,
        mean: report.latencies.mean / 1000,
        ok: short ? 0 : ok,
        failed: report.requests - (short ? 0 : ok),
      });
    });
  });
}

interface VegetaReport {
  latencies: Record<string, number>;
  requests: number;
  success: number;
  throughput: number;
  bytes_in: { total: number; mean: number };
}

/** InvokeService for id with method "hello", GET: the call every gRPC case makes. */
function invokeRequest(id: string) {
  return { id, message: { method: "hello", http_extension: { verb: "GET" } } };
}

function invokeFrame(id: string): Uint8Array {
  const body = toBinary(
    InvokeServiceRequestSchema,
    create(InvokeServiceRequestSchema, { id, message: { method: "hello", httpExtension: { verb: HTTPExtension_Verb.GET } } }),
  );
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  return frame;
}

/** One call over node:http2: the answer's body length, after checking grpc-status 0 (the bench's own process, not a load generator). */
function answerBytes(address: string, frame: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": invokePath, "content-type": "application/grpc", te: "trailers" });
    let size = 0;
    let status: string | undefined;
    stream.on("response", (headers) => (status = headers["grpc-status"] as string | undefined));
    stream.on("trailers", (trailers) => (status = trailers["grpc-status"] as string | undefined));
    stream.on("data", (chunk: Buffer) => (size += chunk.length));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      if (status !== "0") reject(new Error(`InvokeService on ${address} answered grpc-status ${status}`));
      else resolve(size);
    });
    stream.end(frame);
  });
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (us: number) => (us / 1000).toFixed(3);

/** The four cases (and the baseline's two gRPC cases, when given), interleaved; the median round of each. */
export async function measureInvocation(settings: InvocationSettings): Promise<InvocationFigures> {
  if (!existsSync(vegetaPath)) throw new Error(`${vegetaPath} is missing: make bench-tools installs it`);
  const { seconds, rounds, rate, serverCpu, log } = settings;
  const token = "bench-token";
  let service: ScriptServer | undefined;
  const started: RunningRuntime[] = [];
  try {
    service = await startScriptServer("invoke-service.js");
    pin(service.pid, serverCpu);
    const serviceUrl = service.url;
    const start = async (config: string, cliFile?: string) => {
      const runtime = await startRuntime({ config, ...(cliFile === undefined ? {} : { cliFile }) });
      pin(runtime.process.pid!, serverCpu);
      started.push(runtime);
      return runtime;
    };
    const pair = async (cliFile?: string) => {
      const b = await start(`app: { id: b, httpPort: ${service!.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
invoke: { token: ${token} }
`, cliFile);
      const a = await start(`app: { id: a }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
invoke:
  token: ${token}
  targets: { svc: { url: "${serviceUrl}" } }
components:
  nameresolution:
    table: { type: static, apps: { b: "127.0.0.1:${b.apiPort}" } }
`, cliFile);
      return { a, b };
    };
    const current = await pair();
    // A build from before service invocation does not start on these configs: it has no baseline here.
    const baseline = settings.baselineCli === undefined ? undefined : await pair(settings.baselineCli).catch((error: unknown) => {
      log(`  the baseline cannot be measured here: ${(error as Error).message.split("\n")[0]}`);
      return undefined;
    });

    interface Case {
      readonly name: string;
      readonly target: VegetaTarget;
      readonly pids: readonly number[];
      /** For the ghz status check: address and id. */
      readonly grpc?: { address: string; id: string };
    }
    const grpcCase = async (name: string, runtime: RunningRuntime, id: string, pids: readonly number[]): Promise<Case> => {
      const address = `127.0.0.1:${runtime.apiPort}`;
      const frame = invokeFrame(id);
      const target: VegetaTarget = {
        url: `http://${address}${invokePath}`,
        method: "POST",
        headers: ["content-type: application/grpc", "te: trailers"],
        body: frame,
        h2c: true,
        answerBytes: await answerBytes(address, frame),
      };
      return { name, target, pids, grpc: { address, id } };
    };
    const pid = (runtime: RunningRuntime) => runtime.process.pid!;
    const directBytes = Buffer.byteLength('{"hello":"bench"}');
    const cases: Case[] = [
      { name: "direct: app -> HTTP service (HTTP/1.1)", target: { url: `${serviceUrl}/hello`, method: "GET", answerBytes: directBytes }, pids: [] },
      await grpcCase("app -> runtime -> HTTP service", current.a, "svc", [pid(current.a)]),
      await grpcCase("app -> runtime B -> its app", current.b, "b", [pid(current.b)]),
      await grpcCase("app -> runtime A -> runtime B -> app", current.a, "b", [pid(current.a), pid(current.b)]),
    ];
    if (baseline !== undefined) {
      try {
        cases.push(await grpcCase("before: app -> runtime -> HTTP service", baseline.a, "svc", [pid(baseline.a)]));
        cases.push(await grpcCase("before: app -> runtime A -> runtime B -> app", baseline.a, "b", [pid(baseline.a), pid(baseline.b)]));
      } catch (error) {
        // A build from before service invocation answers UNIMPLEMENTED.
        log(`  the baseline cannot be measured here: ${(error as Error).message}`);
      }
    }
    // Statuses checked, and every path warmed up (JIT, connections), before measuring.
    for (const c of cases) {
      if (c.grpc !== undefined) {
        const checked = await ghz(c.grpc.address, { call: "spec.proto.runtime.v1.Runtime/InvokeService", data: invokeRequest(c.grpc.id), concurrency: 16, seconds: 1, rps: rate });
        if (checked.failed > 0 || checked.ok === 0) throw new Error(`${c.name}: ${checked.failed} of ${checked.ok + checked.failed} calls failed under ghz`);
      }
      await vegeta(c.target, rate, 1);
    }

    const runs = new Map<string, { result: LoadResult; cpu: number[] }[]>();
    for (let round = 0; round < rounds; round++) {
      for (const c of cases) {
        const cpu: number[] = [];
        // CPU share of each runtime while the case runs (nested: one measurement wraps the next).
        const measure = async (pids: readonly number[]): Promise<LoadResult> => {
          if (pids.length === 0) return vegeta(c.target, rate, seconds);
          const { result, share } = await cpuShare(pids[0]!, () => measure(pids.slice(1)));
          cpu.unshift(share);
          return result;
        };
        const result = await measure(c.pids);
        if (result.failed > 0) log(`  warning: ${c.name}: ${result.failed} calls failed or read a short answer`);
        runs.set(c.name, [...(runs.get(c.name) ?? []), { result, cpu }]);
        log(`  invoke round ${round + 1} ${c.name}: p50 ${ms(result.p50)} ms, p99 ${ms(result.p99)} ms`);
      }
    }
    const rows = cases.map((c) => {
      const all = runs.get(c.name)!;
      const mid = all.find((r) => r.result.p50 === median(all.map((x) => x.result.p50)))!;
      return { name: c.name, result: mid.result, cpu: mid.cpu };
    });
    const p = (name: string) => rows.find((r) => r.name === name)!.result;
    const [direct, one, local, two] = cases.map((c) => c.name) as [string, string, string, string];
    const added = (from: string, to: string, what: string) => {
      const p50 = p(to).p50 - p(from).p50;
      const signed = (us: number) => `${us < 0 ? "-" : "+"}${ms(Math.abs(us))}`;
      return `${what}: p50 ${signed(p50)} ms, p99 ${signed(p(to).p99 - p(from).p99)} ms (goal: p50 ≤ 0.3 ms per runtime hop: ${p50 <= 300 ? "met" : "not met"})`;
    };
    const summary = [
      added(direct, one, "added by one runtime (app -> runtime -> HTTP service vs the service called directly)"),
      added(local, two, "added by the second runtime (A -> B -> app vs B -> app)"),
    ];
    return { rows, summary };
  } finally {
    for (const runtime of started) await runtime.stop();
    await service?.stop();
  }
}

/** The rows as a markdown table. */
export function invocationMarkdown(figures: InvocationFigures, rate: number): string[] {
  const out = [
    `| path (vegeta, ${rate.toLocaleString("en")} rps) | p50 | p99 | mean | rps | runtime CPU | CPU per call | failed |`,
    "|---|--:|--:|--:|--:|---|---|--:|",
  ];
  for (const row of figures.rows) {
    const cpu = row.cpu.map((c) => `${Math.round(c * 100)} %`).join(" + ") || "–";
    const perCall = row.cpu.map((c) => `${Math.round((c * 1e6) / row.result.rps)} µs`).join(" + ") || "–";
    out.push(
      `| ${row.name} | ${ms(row.result.p50)} ms | ${ms(row.result.p99)} ms | ${ms(row.result.mean)} ms | ${Math.round(row.result.rps)} | ${cpu} | ${perCall} | ${row.result.failed} |`,
    );
  }
  out.push("", ...figures.summary.map((line) => `- ${line}`));
  return out;
}

if (require.main === module) {
  const rate = Number(process.env.BENCH_RPS ?? 1000);
  const baseline = process.env.BENCH_BASELINE;
  measureInvocation({
    seconds: Number(process.env.BENCH_SECONDS ?? 3),
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    rate,
    serverCpu: process.env.BENCH_SERVER_CPU ?? "0",
    ...(baseline === undefined ? {} : { baselineCli: path.join(baseline, "runtime-kernel", "dist", "cli.js") }),
    log: (line) => process.stderr.write(`${line}\n`),
  })
    .then((figures) => process.stdout.write(`\nInvokeService, ${new Date().toISOString()}\n\n${invocationMarkdown(figures, rate).join("\n")}\n`))
    .catch(async (error: unknown) => {
      process.stderr.write(`invoke bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      await stopAllRuntimes();
      process.exitCode = 1;
    });
}
