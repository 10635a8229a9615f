/**
 * The load generators, none of them in Node, each pinned to the core the
 * servers do not use: ghz (Go) for gRPC, h2load (nghttp2, C) for Connect JSON over
 * HTTP/1.1, redis-benchmark (C) for Redis itself, streambench (Go, bench/go) for a
 * SubscribeTopicEvents stream. `make bench` installs them.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { benchNice } from "./process-stats";

const repoRoot = path.resolve(__dirname, "..", "..");
export const ghzPath = process.env.GHZ ?? path.join(repoRoot, ".cache", "tools", "bin", "ghz");
export const streamBenchPath = path.join(repoRoot, ".cache", "tools", "bin", "streambench");
/** The CPU the load generators run on; the servers get the other one. */
export const loadCpu = process.env.BENCH_LOAD_CPU ?? "1";

/** One load run's figures; latencies in microseconds. */
export interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Mean latency, for generators that give no percentiles (h2load). */
  readonly mean: number;
  readonly ok: number;
  readonly failed: number;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("nice", ["-n", String(benchNice), "taskset", "-c", loadCpu, command, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && stdout === "") reject(new Error(`${command} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export interface GrpcLoad {
  /** "spec.proto.runtime.v1.Runtime/GetState" */
  readonly call: string;
  /** The request as protobuf JSON. */
  readonly data: object;
  readonly concurrency: number;
  readonly seconds: number;
  /** A fixed request rate instead of as fast as possible. */
  readonly rps?: number;
}

/** ghz against host:port over one HTTP/2 connection, with the repository's own protos. */
export async function ghz(target: string, load: GrpcLoad): Promise<LoadResult> {
  if (!existsSync(ghzPath)) throw new Error(`${ghzPath} is missing: make bench installs it`);
  const args = [
    "--insecure",
    "--proto", "spec/proto/runtime/v1/runtime.proto",
    "--import-paths", repoRoot,
    "--call", load.call,
    "-d", JSON.stringify(load.data),
    "-c", String(load.concurrency),
    "--connections", "1",
    "-z", `${load.seconds}s`,
    "--format", "json",
    ...(load.rps ? ["-r", String(load.rps)] : []),
    target,
  ];
  const report = JSON.parse(await run(ghzPath, args, (load.seconds + 30) * 1000)) as GhzReport;
  const percentile = (p: number) => (report.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1000;
  const ok = report.statusCodeDistribution?.OK ?? 0;
  // ghz counts the calls it cancels itself when the duration ends as errors; they are not the server's.
  const cutAtEnd = Object.entries(report.errorDistribution ?? {})
    .filter(([text]) => /context canceled|code = Canceled|use of closed network connection/.test(text))
    .reduce((sum, [, count]) => sum + count, 0);
  const failed = report.count - ok - cutAtEnd;
  if (failed > 0) process.stderr.write(`  ghz errors: ${JSON.stringify(report.errorDistribution)}\n`);
  return { rps: report.rps, p50: percentile(50), p99: percentile(99), mean: report.average / 1000, ok, failed };
}

interface GhzReport {
  count: number;
  rps: number;
  average: number;
  latencyDistribution: { percentage: number; latency: number }[] | null;
  statusCodeDistribution: Record<string, number> | null;
  errorDistribution: Record<string, number> | null;
}

/** h2load over HTTP/1.1 (one request in flight per connection), POSTing a JSON body: Connect's unary protocol. */
export function h2loadConnectJson(url: string, body: object, concurrency: number, seconds: number): Promise<LoadResult> {
  const args = ["--h1", "-c", String(concurrency), "-H", "content-type: application/json"];
  return h2load(url, JSON.stringify(body), args, seconds);
}

/**
 * h2load sending one prebuilt gRPC request (frame bytes) over one HTTP/2
 * connection with `concurrency` streams in flight. It reads no grpc-status, so
 * the same call's status is checked with ghz in the same run; it is here because
 * it is several times lighter than ghz, which saturates its core before a fast
 * server does.
 */
export function h2loadGrpc(url: string, frame: Uint8Array, concurrency: number, seconds: number): Promise<LoadResult> {
  const args = ["-c", "1", "-m", String(concurrency), "-H", "content-type: application/grpc", "-H", "te: trailers"];
  return h2load(url, frame, args, seconds);
}

/** The same, for a number of requests instead of a time: `requests` calls, `concurrency` in flight. */
export function h2loadGrpcRequests(url: string, frame: Uint8Array, concurrency: number, requests: number): Promise<LoadResult> {
  const args = ["-c", "1", "-m", String(concurrency), "-n", String(requests), "-H", "content-type: application/grpc", "-H", "te: trailers"];
  return h2load(url, frame, args, undefined);
}

async function h2load(url: string, body: string | Uint8Array, args: readonly string[], seconds: number | undefined): Promise<LoadResult> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "ottavo-bench-")), "body");
  writeFileSync(file, body);
  const duration = seconds === undefined ? [] : ["-D", String(seconds)];
  const out = await run("h2load", [...args, ...duration, "-d", file, url], ((seconds ?? 60) + 30) * 1000);
  const rps = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(out)?.[1]);
  const counts = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(out);
  const status2xx = Number(/status codes: (\d+) 2xx/.exec(out)?.[1] ?? 0);
  const mean = parseDuration(/time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1]);
  const succeeded = Number(counts?.[1] ?? 0);
  return { rps, p50: NaN, p99: NaN, mean, ok: Math.min(succeeded, status2xx), failed: Number(counts?.[2] ?? 0) + succeeded - Math.min(succeeded, status2xx) };
}

/** h2load durations: "1.23ms", "456us", "1.2s" -> microseconds. */
function parseDuration(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text ?? "");
  if (!match) return NaN;
  return Number(match[1]) * { us: 1, ms: 1000, s: 1_000_000 }[match[2] as "us" | "ms" | "s"];
}

/** redis-benchmark with one client: Redis's own latency for one command, the floor of any call through the runtime. */
export async function redisBenchmark(port: number, command: readonly string[], requests: number): Promise<LoadResult> {
  const out = await run("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "-c", "1", "-n", String(requests), "--csv", ...command], 120_000);
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const row = out.trim().split("\n").pop()!.split(",").map((cell) => cell.replace(/"/g, ""));
  return { rps: Number(row[1]), mean: Number(row[2]) * 1000, p50: Number(row[4]) * 1000, p99: Number(row[6]) * 1000, ok: requests, failed: 0 };
}

/** One SubscribeTopicEvents stream drained by streambench; times in milliseconds. */
export interface StreamResult {
  /** From the stream's start until the runtime's initial response. */
  readonly openMs: number;
  /** From the stream's start until the first event. */
  readonly firstMs: number;
  readonly messages: number;
  /** Events per second from the first event to the last, each answered (SUCCESS) as it arrives. */
  readonly perSecond: number;
}

/**
 * streambench (bench/go/streambench, grpc-go): subscribes to a topic holding a
 * backlog over SubscribeTopicEvents and receives `messages` events, acknowledging
 * each as it arrives.
 */
export async function streamBench(address: string, pubsub: string, topic: string, messages: number): Promise<StreamResult> {
  if (!existsSync(streamBenchPath)) throw new Error(`${streamBenchPath} is missing: make bench-tools builds it`);
  const args = ["-addr", address, "-pubsub", pubsub, "-topic", topic, "-messages", String(messages)];
  return JSON.parse(await run(streamBenchPath, args, 120_000)) as StreamResult;
}
