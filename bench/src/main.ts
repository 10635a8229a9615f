/**
 * Ottavo's hot-path benchmark: `make bench` (installs ghz and h2load, builds,
 * then runs `node bench/dist/main.js`). Servers run on one core, the load
 * generators (ghz, h2load, redis-benchmark: none in Node) on the other. Every
 * figure is set against a reference measured in the same run: a hand-framed
 * node:http2 gRPC server (reference-server.ts) for the physical limit,
 * redis-benchmark for Redis itself, and the HTTP service called directly for
 * service invocation (invoke-bench.ts, vegeta on both sides). Writes bench/out/latest.md; RESULTS.md is
 * written from it by hand, with the command.
 *
 * Settings (environment): BENCH_SECONDS per run (3), BENCH_ROUNDS of the
 * interleaved headline (3), the observability section's BENCH_OBSERVABILITY_PAIRS (pairs of fresh
 * runtimes per comparison, 3), BENCH_OBSERVABILITY_WARM_SECONDS (15), BENCH_OBSERVABILITY_SECONDS (30)
 * and BENCH_OBSERVABILITY_STREAMS (64), BENCH_BASELINE=<checkout of another build> adds its
 * runtime to the headline (before/after), BENCH_SERVER_CPU (0), BENCH_LOAD_CPU (1),
 * BENCH_ONLY=<section,...> runs only those sections (see `sections`; all by default),
 * e.g. `BENCH_ONLY=redis node bench/dist/main.js` after `make bench-tools build`.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startRedis, startRuntime, stopAllRuntimes, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { fromJson, toBinary, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import {
  GetNextIdRequestSchema,
  GetStateRequestSchema,
  PublishEventRequestSchema,
  SaveStateRequestSchema,
  SayHelloRequestSchema,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { summarizeCpuProfile } from "./cpu-profile";
import { gcWindowNodeArgs, inGcWindow } from "./gc-trace";
import { invocationMarkdown, measureInvocation, type InvocationFigures } from "./invoke-bench";
import {
  ghz,
  h2loadConnectJson,
  h2loadGrpc,
  h2loadGrpcRequests,
  loadCpu,
  redisBenchmark,
  streamBench,
  type GrpcLoad,
  type LoadResult,
  type StreamResult,
} from "./load-generators";
import { cpuSeconds, cpuShare, pin, rssBytes } from "./process-stats";
import { meanRatio, measurePairs, pairsMarkdown, type Comparison, type PairHarness, type PairSample } from "./observability-pairs";
import { collectStdout, startScriptServer, type ScriptServer } from "./processes";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** Pairs of fresh runtimes per comparison in the observability section (observability-pairs.ts). */
const observabilityPairs = Number(process.env.BENCH_OBSERVABILITY_PAIRS ?? 3);
/** Seconds both runtimes of a pair are loaded, per call, before they are measured: their JIT settles. */
const observabilityWarmSeconds = Number(process.env.BENCH_OBSERVABILITY_WARM_SECONDS ?? 15);
/** Seconds of each measured run of a pair: long enough to hold several major GCs. */
const observabilityRunSeconds = Number(process.env.BENCH_OBSERVABILITY_SECONDS ?? 30);
/** Streams in flight in the observability section: enough that the runtime, not the load generator, is what saturates. */
const observabilityStreams = Number(process.env.BENCH_OBSERVABILITY_STREAMS ?? 64);
const serverCpu = process.env.BENCH_SERVER_CPU ?? "0";
const baselineDir = process.env.BENCH_BASELINE;

/** The sections of the run, in order; BENCH_ONLY picks some of them. */
const sections = ["start", "headline", "observability", "grid", "connect", "streaming", "redis", "invocation", "wasm", "gc", "profile"] as const;
type Section = (typeof sections)[number];
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim()).filter((name) => name !== "");
for (const name of only ?? []) {
  if (!(sections as readonly string[]).includes(name)) throw new Error(`BENCH_ONLY: no section '${name}'; the sections are ${sections.join(", ")}`);
}
const runs = (section: Section) => only === undefined || only.includes(section);

const runtimeCall = (method: string) => `spec.proto.runtime.v1.Runtime/${method}`;
const value100 = Buffer.alloc(100, "v").toString("base64");

/** The unary calls measured, each with its request (protobuf JSON) and the request's schema. */
const calls = {
  SayHello: { call: runtimeCall("SayHello"), schema: SayHelloRequestSchema, data: { service_name: "quick_start_demo", name: "bench" } },
  GetState: { call: runtimeCall("GetState"), schema: GetStateRequestSchema, data: { store_name: "state_demo", key: "bench-key" } },
  SaveState: {
    call: runtimeCall("SaveState"),
    schema: SaveStateRequestSchema,
    data: { store_name: "state_demo", states: [{ key: "bench-key", value: value100 }] },
  },
  GetNextId: { call: runtimeCall("GetNextId"), schema: GetNextIdRequestSchema, data: { store_name: "sequencer_demo", key: "bench" } },
  PublishEvent: {
    call: runtimeCall("PublishEvent"),
    schema: PublishEventRequestSchema,
    data: { pubsub_name: "pub_subs_demo", topic: "bench", data: value100, data_content_type: "text/plain" },
  },
} as const;
type CallName = keyof typeof calls;

/** The call's request as one gRPC frame, for h2load; `data` replaces the request's fields it names. */
function requestFrame(name: CallName, data: object = {}): Uint8Array {
  const { schema } = calls[name];
  const body = toBinary(schema as DescMessage, fromJson(schema as DescMessage, { ...calls[name].data, ...data } as JsonValue));
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  return frame;
}

const memoryConfig = `app: { id: bench }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  hello:
    quick_start_demo: { type: helloworld, metadata: { hello: greetings } }
  state:
    state_demo: { type: in-memory }
  sequencer:
    sequencer_demo: { type: in-memory }
  pubsub:
    pub_subs_demo: { type: in-memory }
`;

/**
 * The same runtime with every observability feature on: tracing (every call, or
 * the given share of them) to an OTLP/HTTP endpoint that discards (otlp-sink.ts),
 * JSON logs and the access log (one line per call, to a pipe a collector reads:
 * collectStdout in processes.ts). Metrics
 * are on in every runtime but the one of offConfig.
 */
const observedConfig = (sinkPort: number, sampleRatio: number) => `${memoryConfig}tracing: { enabled: true, endpoint: "http://127.0.0.1:${sinkPort}/v1/traces", sampleRatio: ${sampleRatio} }
logging: { format: json, accessLog: true }
`;

/** The same runtime with nothing observed: metrics off (the floor under "metrics only"). */
const offConfig = `${memoryConfig}metrics: { enabled: false }
`;

/** The observability setting issue 10's ≤ 5 % target is about, and tracing every call (informational). */
const metricsOnlySetting = "runtime, metrics only (the default)";
const everythingOffSetting = "runtime, everything off (metrics: { enabled: false })";
const productionSetting = "runtime, production setting: metrics + tracing 1 % sampled (parent-based) + JSON access log";
const everyCallSetting = "runtime, informational: metrics + tracing every call + JSON access log";

const redisConfig = (redis: RedisServer) => `app: { id: bench }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    state_demo: { type: redis, metadata: { redisHost: "${redis.host}:${redis.port}" } }
`;

/** A streaming row: one target's median round of SubscribeTopicEvents draining a backlog. */
interface StreamRow {
  readonly server: string;
  readonly result: StreamResult;
  /** The server's CPU seconds per event while the stream drained. */
  readonly cpuPerMessage: number;
  readonly note: string;
}

/** One row of the output. */
interface Row {
  readonly section: string;
  readonly server: string;
  readonly call: string;
  readonly load: string;
  readonly result: LoadResult;
  readonly cpu?: number;
  readonly note?: string;
}

interface Target {
  readonly name: string;
  readonly address: string;
  readonly pid: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function startPinnedRuntime(config: string, options: { nodeArgs?: string[]; cliFile?: string } = {}): Promise<RunningRuntime> {
  const runtime = await startRuntime({ config, ...options });
  pin(runtime.process.pid!, serverCpu);
  return runtime;
}

function runtimeTarget(name: string, runtime: RunningRuntime): Target {
  return { name, address: `127.0.0.1:${runtime.apiPort}`, pid: runtime.process.pid! };
}

function scriptTarget(name: string, server: ScriptServer): Target {
  pin(server.pid, serverCpu);
  return { name, address: `127.0.0.1:${server.port}`, pid: server.pid };
}

async function grpcRun(target: Target, name: CallName, load: Omit<GrpcLoad, "call" | "data">): Promise<{ result: LoadResult; cpu: number }> {
  const { call, data } = calls[name];
  const { result, share } = await cpuShare(target.pid, () => ghz(target.address, { call, data, ...load }));
  if (result.failed > 0) log(`  warning: ${target.name} ${name}: ${result.failed} calls failed`);
  return { result, cpu: share };
}

async function warm(target: Target, name: CallName): Promise<void> {
  await ghz(target.address, { call: calls[name].call, data: calls[name].data, concurrency: 16, seconds: 1 });
}

/**
 * The load of a GC window, run for a while before the window opens: the first
 * scavenge at a new load still copies what the previous load left in the young
 * generation (the warm-up's c=16 calls before the 1,000 rps window), which is a
 * pause of the change of load, not of the load measured.
 */
async function settle(target: Target, rps: number | undefined): Promise<void> {
  await ghz(target.address, { call: calls.GetState.call, data: calls.GetState.data, concurrency: 16, seconds: 2, ...(rps ? { rps } : {}) });
}

/** The call's URL on the target, for h2load. */
function callUrl(target: Target, name: CallName): string {
  return `http://${target.address}/${calls[name].call}`;
}

/** Throughput with h2load (much lighter than ghz, so the server is what saturates), for `runSeconds` (the runs' length). */
async function h2Run(target: Target, name: CallName, concurrency: number, runSeconds = seconds): Promise<{ result: LoadResult; cpu: number }> {
  const url = callUrl(target, name);
  const { result, share } = await cpuShare(target.pid, () => h2loadGrpc(url, requestFrame(name), concurrency, runSeconds));
  return { result, cpu: share };
}

/**
 * The same call at a fixed rate on each target: warmed at c=16 and then for a run
 * at the rate itself (a runtime still optimizing its code for this load in its
 * first seconds spends up to a third more CPU per call), then `rounds` interleaved
 * rounds; per target, the median of each figure over its rounds (rps, p50, p99,
 * mean, CPU share; failed calls summed).
 */
async function fixedRateRounds(targets: readonly Target[], name: CallName, rps: number): Promise<{ result: LoadResult; cpu: number }[]> {
  for (const target of targets) {
    await warm(target, name);
    await ghz(target.address, { call: calls[name].call, data: calls[name].data, concurrency: 16, seconds, rps });
  }
  const byTarget = targets.map(() => [] as { result: LoadResult; cpu: number }[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, target] of targets.entries()) {
      const run = await grpcRun(target, name, { concurrency: 16, seconds, rps });
      byTarget[i]!.push(run);
      log(`  ${name} ${rps} rps ${target.name}: p50 ${run.result.p50.toFixed(0)} µs, p99 ${run.result.p99.toFixed(0)} µs, CPU ${(run.cpu * 100).toFixed(0)} %`);
    }
  }
  return byTarget.map((runs) => {
    const of = (pick: (run: { result: LoadResult; cpu: number }) => number) => median(runs.map(pick));
    return {
      result: {
        rps: of((r) => r.result.rps),
        p50: of((r) => r.result.p50),
        p99: of((r) => r.result.p99),
        mean: of((r) => r.result.mean),
        ok: of((r) => r.result.ok),
        failed: runs.reduce((sum, r) => sum + r.result.failed, 0),
      },
      cpu: of((r) => r.cpu),
    };
  });
}

/** One run's throughput and the server's CPU share. */
type Run = { result: LoadResult; cpu: number };

/**
 * The production setting against everything off, per call: the product of its
 * ratio to metrics only and metrics only's to everything off (means over their
 * pairs): what observability costs when all of it is on.
 */
function stackedRatios(results: Map<Comparison, Map<CallName, PairSample[]>>, metricsVsOff: Comparison, productionVsMetrics: Comparison): string[] {
  const ratio = (comparison: Comparison, call: CallName) => meanRatio(results.get(comparison)?.get(call) ?? []);
  return [...(results.get(metricsVsOff)?.keys() ?? [])].map((call) => {
    const stacked = ratio(metricsVsOff, call) * ratio(productionVsMetrics, call);
    return (
      `- **All of it (the production setting) against everything off, ${call}: ×${stacked.toFixed(3)}** (metrics only's ratio × the production setting's) — ` +
      `≤ 5 % (≥ ×0.95): ${stacked >= 0.95 ? "met" : "**NOT met**"}`
    );
  });
}

/** The observability section's table and verdicts (observability-pairs.ts), for the markdown. */
const observabilityLines: string[] = [];

/** The observability section's runtimes and runs: pinned runtimes whose stdout a log collector reads, h2load runs that count their CPU time. */
const observabilityHarness: PairHarness<CallName, Target> = {
  async start(config) {
    const runtime = await startPinnedRuntime(config);
    await collectStdout(runtime.process, loadCpu);
    return { target: runtimeTarget("runtime", runtime), stop: () => runtime.stop() };
  },
  check: (target, name) => warm(target, name),
  async run(target, name, runSeconds) {
    const before = cpuSeconds(target.pid);
    const result = await h2loadGrpc(callUrl(target, name), requestFrame(name), observabilityStreams, runSeconds);
    return { calls: result.ok, cpuSeconds: cpuSeconds(target.pid) - before, rps: result.rps, failed: result.failed };
  },
  log,
};

/** The headline: the same call on each target, interleaved round by round; the median round of each. */
async function headline(targets: readonly Target[], name: CallName, rows: Row[]): Promise<void> {
  for (const target of targets) await warm(target, name);
  const byTarget = new Map<string, Run[]>();
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const run = await h2Run(target, name, 16);
      byTarget.set(target.name, [...(byTarget.get(target.name) ?? []), run]);
      log(`  ${name} c=16 ${target.name}: ${run.result.rps.toFixed(0)} rps`);
    }
  }
  for (const target of targets) {
    const runs = byTarget.get(target.name)!;
    const mid = runs.find((r) => r.result.rps === median(runs.map((x) => x.result.rps)))!;
    const spread = (Math.max(...runs.map((r) => r.result.rps)) - Math.min(...runs.map((r) => r.result.rps))) / 2 / mid.result.rps;
    rows.push({ section: "headline", server: target.name, call: name, load: "c=16", result: mid.result, cpu: mid.cpu, note: `±${(spread * 100).toFixed(0)} % over ${rounds} rounds` });
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const facts = machineFacts();
  log(`ottavo bench: ${facts.join("; ")}`);
  const rows: Row[] = [];
  const memoryFacts: string[] = [];
  const profileFacts: string[] = [];
  const wasmSection: string[] = [];
  const streamRows: StreamRow[] = [];
  let redis: RedisServer | undefined;
  let invocation: InvocationFigures | undefined;
  const scripts: ScriptServer[] = [];
  try {
    // Start-to-ready and idle memory, on fresh processes before anything else runs.
    if (runs("start")) {
      const starts: number[] = [];
      const idleRss: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const runtime = await startRuntime({ config: memoryConfig });
        starts.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 500));
        idleRss.push(rssBytes(runtime.process.pid!));
        await runtime.stop();
      }
      memoryFacts.push(`start to ready (spawn until the ready line), median of 5: ${median(starts).toFixed(0)} ms`);
      memoryFacts.push(
        `RSS idle (0.5 s after ready, in-memory config), median of 5: ${(median(idleRss) / 1048576).toFixed(1)} MB ` +
          `(${idleRss.map((bytes) => (bytes / 1048576).toFixed(1)).join(", ")})`,
      );
    }

    const reference = await startScriptServer("reference-server.js");
    scripts.push(reference);
    const bare = await startScriptServer("bare-server.js");
    scripts.push(bare);
    const memory = await startPinnedRuntime(memoryConfig);
    const targets = {
      runtime: runtimeTarget("runtime (gRPC fast path)", memory),
      reference: scriptTarget("reference: hand-framed node:http2", reference),
      bare: scriptTarget("bare Connect-ES server", bare),
    };
    const baseline = baselineDir
      ? runtimeTarget(`runtime before (${path.basename(baselineDir)})`, await startPinnedRuntime(memoryConfig, { cliFile: path.join(baselineDir, "runtime-kernel", "dist", "cli.js") }))
      : undefined;

    if (runs("headline")) {
      log("headline: c=16, interleaved");
      await headline([targets.runtime, targets.reference, targets.bare, ...(baseline ? [baseline] : [])], "SayHello", rows);
      await headline([targets.runtime, targets.reference, ...(baseline ? [baseline] : [])], "GetState", rows);
    }

    if (runs("observability")) {
      log(
        `observability: each setting against its reference, ${observabilityPairs} pairs of fresh runtimes side by side, ` +
          `c=${observabilityStreams}, ${observabilityWarmSeconds} s warm, ${observabilityRunSeconds} s measured`,
      );
      const sink = await startScriptServer("otlp-sink.js");
      scripts.push(sink);
      pin(sink.pid, loadCpu);
      const off = { name: everythingOffSetting, config: offConfig };
      const metricsOnly = { name: metricsOnlySetting, config: memoryConfig };
      const comparisons: Comparison[] = [
        { reference: off, observed: metricsOnly, target: 0.95 },
        { reference: metricsOnly, observed: { name: productionSetting, config: observedConfig(sink.port, 0.01) }, target: 0.95 },
        { reference: metricsOnly, observed: { name: everyCallSetting, config: observedConfig(sink.port, 1) } },
      ];
      // This process waits on the load generators' core while the section runs, not on the runtimes'.
      const benchCpus = execFileSync("taskset", ["-p", "-c", String(process.pid)], { encoding: "utf8" }).trim().split(/:\s*/).pop()!;
      execFileSync("taskset", ["-a", "-p", "-c", loadCpu, String(process.pid)], { stdio: "ignore" });
      const options = { pairs: Math.max(observabilityPairs, 1), warmSeconds: observabilityWarmSeconds, runSeconds: observabilityRunSeconds };
      const results = await measurePairs(observabilityHarness, comparisons, ["SayHello", "GetState"] as const, options);
      observabilityLines.push(...pairsMarkdown(results, options, observabilityStreams), "", ...stackedRatios(results, comparisons[0]!, comparisons[1]!));
      execFileSync("taskset", ["-a", "-p", "-c", benchCpus, String(process.pid)], { stdio: "ignore" });
    }

    if (runs("grid")) {
      log("every call: c=16, c=64 and a fixed 1,000 rps");
      // The in-memory pubsub holds what is published to a topic nobody subscribed to, up to 100,000
      // messages, then refuses: each PublishEvent load gets a runtime of its own.
      const targetFor = async (name: CallName): Promise<{ target: Target; done(): Promise<void> }> => {
        if (name !== "PublishEvent") return { target: targets.runtime, done: async () => {} };
        const fresh = await startPinnedRuntime(memoryConfig);
        return { target: runtimeTarget("runtime, in-memory", fresh), done: async () => void (await fresh.stop()) };
      };
      for (const name of ["SayHello", "GetState", "SaveState", "GetNextId", "PublishEvent"] as const) {
        for (const concurrency of [16, 64]) {
          const { target, done } = await targetFor(name);
          await warm(target, name);
          const run = await h2Run(target, name, concurrency);
          rows.push({ section: "grid", server: "runtime, in-memory", call: name, load: `c=${concurrency}`, ...run });
          await done();
        }
        const { target, done } = await targetFor(name);
        await warm(target, name);
        const fixed = await grpcRun(target, name, { concurrency: 16, seconds, rps: 1000 });
        rows.push({ section: "grid", server: "runtime, in-memory", call: name, load: "1,000 rps", ...fixed });
        await done();
        log(`  ${name} done`);
      }
      for (const [target, name] of [[targets.reference, "SayHello"], [targets.reference, "GetState"]] as const) {
        const fixed = await grpcRun(target, name, { concurrency: 16, seconds, rps: 1000 });
        rows.push({ section: "grid", server: target.name, call: name, load: "1,000 rps", ...fixed });
      }
      memoryFacts.push(`RSS after the load above: ${(rssBytes(targets.runtime.pid) / 1048576).toFixed(1)} MB`);
    }

    if (runs("connect")) {
      log("Connect JSON over HTTP/1.1 (h2load --h1), c=16, interleaved with the baseline");
      for (const name of ["SayHello", "GetState"] as const) {
        const connectTargets = [runtimeTarget("runtime", memory), ...(baseline ? [baseline] : [])];
        const runs = new Map<string, { result: LoadResult; cpu: number }[]>();
        for (const target of connectTargets) await h2loadConnectJson(callUrl(target, name), calls[name].data, 16, 1);
        for (let round = 0; round < rounds; round++) {
          for (const target of connectTargets) {
            const url = callUrl(target, name);
            const { result, share } = await cpuShare(target.pid, () => h2loadConnectJson(url, calls[name].data, 16, seconds));
            runs.set(target.name, [...(runs.get(target.name) ?? []), { result, cpu: share }]);
          }
        }
        for (const target of connectTargets) {
          const all = runs.get(target.name)!;
          const mid = all.find((r) => r.result.rps === median(all.map((x) => x.result.rps)))!;
          rows.push({ section: "connect", server: target.name, call: name, load: "c=16", ...mid, note: `median of ${rounds} rounds` });
        }
      }
    }

    if (runs("streaming")) {
      log("streaming: SubscribeTopicEvents (Connect-ES path) draining a backlog, interleaved with the baseline");
      const streamTargets = [runtimeTarget("runtime", await startPinnedRuntime(memoryConfig))];
      if (baselineDir !== undefined) {
        const cliFile = path.join(baselineDir, "runtime-kernel", "dist", "cli.js");
        streamTargets.push(runtimeTarget(`runtime before (${path.basename(baselineDir)})`, await startPinnedRuntime(memoryConfig, { cliFile })));
      }
      streamRows.push(...(await streaming(streamTargets)));
    }

    if (runs("redis") || runs("wasm")) {
      redis = await startRedis();
      pin(Number(execFileSync("redis-cli", ["-p", String(redis.port), "info", "server"], { encoding: "utf8" }).match(/process_id:(\d+)/)![1]), serverCpu);
    }
    if (runs("redis") && redis !== undefined) {
      log("Redis: the runtime's GetState at 1,000 rps against Redis's own latency");
      execFileSync("redis-cli", ["-p", String(redis.port), "hset", "bench-key", "data", "v".repeat(100), "version", "1"], { stdio: "ignore" });
      const direct = await redisBenchmark(redis.port, ["hmget", "bench-key", "data", "version"], 5000);
      rows.push({ section: "redis", server: "redis-benchmark, 1 client", call: "HMGET key data version", load: "closed loop", result: direct });
      // The least a Node server does to answer GetState from Redis (hand-framed, one HMGET through
      // ioredis), measured the same way: what the runtime adds is read against it too.
      const referenceOnRedis = await startScriptServer("reference-server.js", 10_000, [String(redis.port)]);
      scripts.push(referenceOnRedis);
      const minimal = scriptTarget("reference: hand-framed node:http2 + ioredis HMGET", referenceOnRedis);
      const onRedis = runtimeTarget("runtime, Redis state store", await startPinnedRuntime(redisConfig(redis)));
      // And the reference answering from a Map, in the same rounds: what ghz and node:http2 take at this
      // rate without Redis, the floor under both rows' p50 (redis-benchmark's is Redis alone, over RESP).
      const [floorFixed, minimalFixed, redisFixed] = await fixedRateRounds([targets.reference, minimal, onRedis], "GetState", 1000);
      const added = (row: { result: LoadResult }, over: { result: LoadResult }, what: string) =>
        `added p50 ${((row.result.p50 - over.result.p50) / 1000).toFixed(2)} ms, p99 ${((row.result.p99 - over.result.p99) / 1000).toFixed(2)} ms over ${what}`;
      const perCall = (run: { result: LoadResult; cpu: number }) => `${((run.cpu / run.result.rps) * 1e6).toFixed(0)} µs CPU per call`;
      const fixedNote = `medians of ${rounds} interleaved rounds after ${seconds} s at the rate`;
      rows.push({
        section: "redis",
        server: "reference: hand-framed node:http2, from a Map (no Redis)",
        call: "GetState",
        load: "1,000 rps",
        ...floorFixed!,
        note: `the floor of a gRPC call through ghz at this rate; ${perCall(floorFixed!)}; ${fixedNote}`,
      });
      rows.push({
        section: "redis",
        server: minimal.name,
        call: "GetState",
        load: "1,000 rps",
        ...minimalFixed!,
        note: `added p50 ${((minimalFixed!.result.p50 - direct.p50) / 1000).toFixed(2)} ms over Redis; ${perCall(minimalFixed!)}; ${fixedNote}`,
      });
      rows.push({
        section: "redis",
        server: onRedis.name,
        call: "GetState",
        load: "1,000 rps",
        ...redisFixed!,
        note:
          `added p50 ${((redisFixed!.result.p50 - direct.p50) / 1000).toFixed(2)} ms over Redis; ` +
          `${added(redisFixed!, minimalFixed!, "the hand-framed reference on Redis")}; ${perCall(redisFixed!)}; ${fixedNote}`,
      });
      for (const concurrency of [16, 64]) {
        const run = await h2Run(onRedis, "GetState", concurrency);
        rows.push({ section: "redis", server: onRedis.name, call: "GetState", load: `c=${concurrency}`, ...run });
      }
    }

    if (runs("invocation")) {
      log("service invocation at 1,000 rps: direct, through one runtime, through two (vegeta)");
      invocation = await measureInvocation({
        seconds,
        rounds,
        rate: 1000,
        serverCpu,
        ...(baselineDir === undefined ? {} : { baselineCli: path.join(baselineDir, "runtime-kernel", "dist", "cli.js") }),
        log,
      });
    }

    if (runs("wasm") && redis !== undefined) {
      log("WebAssembly functions: bench/dist/wasm-bench.js in its own process, not pinned (a guest's worker and the main thread are two threads)");
      wasmSection.push(...(await wasmBench(`${redis.host}:${redis.port}`)));
    }

    if (runs("gc")) {
      log("allocation and GC pauses (gc-window.ts: v8.GCProfiler inside each server)");
      const traced = await startPinnedRuntime(memoryConfig, { nodeArgs: gcWindowNodeArgs });
      const tracedTarget = runtimeTarget("runtime, GC probe", traced);
      const tracedServer = { pid: traced.process.pid!, stdout: () => traced.stdout() };
      await warm(tracedTarget, "GetState");
      for (const [load, rps] of [["1,000 rps", 1000], ["c=16", undefined]] as const) {
        await settle(tracedTarget, rps);
        const { result: run, gc } = await inGcWindow(tracedServer, () => grpcRun(tracedTarget, "GetState", { concurrency: 16, seconds, rps }));
        memoryFacts.push(
          `GetState in-memory at ${load}: ${(gc.allocatedBytes / run.result.ok / 1024).toFixed(1)} KB allocated per call ` +
            `(${gc.scavenges} scavenges, ${gc.otherCollections} mark-compacts over ${run.result.ok} calls), longest young-generation pause ${gc.maxScavengeMs.toFixed(2)} ms`,
        );
      }

      // The same figure for the hand-framed reference: node:http2's own share of it.
      const tracedReference = await startScriptServer("reference-server.js", 10_000, [], gcWindowNodeArgs);
      scripts.push(tracedReference);
      const tracedReferenceTarget = scriptTarget("reference, GC probe", tracedReference);
      await warm(tracedReferenceTarget, "GetState");
      for (const [load, rps] of [["1,000 rps", 1000], ["c=16", undefined]] as const) {
        await settle(tracedReferenceTarget, rps);
        const { result: run, gc } = await inGcWindow(tracedReference, () => grpcRun(tracedReferenceTarget, "GetState", { concurrency: 16, seconds, rps }));
        memoryFacts.push(
          `reference (hand-framed node:http2, GetState from a Map) at ${load}: ${(gc.allocatedBytes / run.result.ok / 1024).toFixed(1)} KB allocated per call ` +
            `(${gc.scavenges} scavenges), longest young-generation pause ${gc.maxScavengeMs.toFixed(2)} ms`,
        );
      }
    }

    if (runs("profile")) {
      log("where the time goes: a CPU profile of GetState in-memory at c=16");
      const profileDir = mkdtempSync(path.join(os.tmpdir(), "ottavo-profile-"));
      // tsc's output, not the bundle: the profile groups functions by the file they come from.
      const unbundled = path.join(__dirname, "..", "..", "runtime-kernel", "dist", "cli.js");
      const profiled = await startPinnedRuntime(memoryConfig, { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`], cliFile: unbundled });
      const profiledTarget = runtimeTarget("runtime --cpu-prof", profiled);
      await warm(profiledTarget, "GetState");
      await h2Run(profiledTarget, "GetState", 16);
      await profiled.stop();
      profileFacts.push(...summarizeCpuProfile(profileDir).map((c) => `${(c.share * 100).toFixed(1)} % ${c.category}`));
    }
  } finally {
    await stopAllRuntimes();
    for (const server of scripts) await server.stop();
    await redis?.stop();
  }
  const invocationLines = invocation === undefined ? [] : invocationMarkdown(invocation, 1000);
  const text = markdown(rows, streamRows, facts, memoryFacts, profileFacts, invocationLines, wasmSection, (Date.now() - started) / 1000);
  const outDir = path.join(__dirname, "..", "out");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "latest.md"), text);
  process.stdout.write(text);
}

/** Events published to a fresh topic before each SubscribeTopicEvents stream drains them. */
const streamBacklog = 10_000;

/**
 * The streaming section: per round and target, a fresh topic gets a backlog of
 * PublishEvent messages (h2load; the in-memory pubsub keeps a topic's messages for
 * its first subscriber), then streambench subscribes with SubscribeTopicEvents and
 * receives them all, acknowledging each. Streaming calls stay on Connect-ES, so the
 * issue's target is "no slower than before": the baseline, when given, runs in the
 * same rounds. Per target, the median of each figure over the rounds.
 */
async function streaming(targets: readonly Target[]): Promise<StreamRow[]> {
  const pubsub = calls.PublishEvent.data.pubsub_name;
  const drain = async (target: Target, topic: string, messages: number) => {
    const url = `http://${target.address}/${calls.PublishEvent.call}`;
    const published = await h2loadGrpcRequests(url, requestFrame("PublishEvent", { topic }), 16, messages);
    if (published.ok !== messages) throw new Error(`${target.name}: ${published.ok} of ${messages} PublishEvent calls succeeded`);
    const cpuBefore = cpuSeconds(target.pid);
    const result = await streamBench(target.address, pubsub, topic, messages);
    return { result, cpuPerMessage: (cpuSeconds(target.pid) - cpuBefore) / messages };
  };
  for (const target of targets) await drain(target, "stream-warm-up", 2_000);
  const runs = new Map<string, { result: StreamResult; cpuPerMessage: number }[]>();
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const run = await drain(target, `stream-${round}`, streamBacklog);
      runs.set(target.name, [...(runs.get(target.name) ?? []), run]);
      log(`  SubscribeTopicEvents ${target.name}: ${run.result.perSecond.toFixed(0)} events/s, first after ${run.result.firstMs.toFixed(2)} ms`);
    }
  }
  const rowsOut = targets.map((target): StreamRow => {
    const all = runs.get(target.name)!;
    const of = (pick: (run: { result: StreamResult; cpuPerMessage: number }) => number) => median(all.map(pick));
    const perSecond = of((r) => r.result.perSecond);
    const spread = (Math.max(...all.map((r) => r.result.perSecond)) - Math.min(...all.map((r) => r.result.perSecond))) / 2 / perSecond;
    return {
      server: target.name,
      result: { perSecond, firstMs: of((r) => r.result.firstMs), openMs: of((r) => r.result.openMs), messages: streamBacklog },
      cpuPerMessage: of((r) => r.cpuPerMessage),
      note: `medians of ${rounds} interleaved rounds; events/s ±${(spread * 100).toFixed(0)} %`,
    };
  });
  const [now, before] = rowsOut;
  if (now !== undefined && before !== undefined) {
    const ratio = now.result.perSecond / before.result.perSecond;
    const cpu = now.cpuPerMessage / before.cpuPerMessage;
    rowsOut[0] = { ...now, note: `**×${ratio.toFixed(2)}** of before in events/s, CPU per event ×${cpu.toFixed(2)}; ${now.note}` };
  }
  return rowsOut;
}

/**
 * The WebAssembly functions' section (wasm-bench.ts: host calls in-memory and on Redis,
 * cold starts, the HTTP trigger), run in a process of its own and not pinned: nothing
 * else runs meanwhile, and a host call crosses from the guest's worker thread to the main
 * thread, which on one core would measure the scheduler (pinned: about twice the cost).
 * Its Markdown, or a line saying why it is missing.
 */
async function wasmBench(redisAddress: string): Promise<string[]> {
  const script = path.join(__dirname, "wasm-bench.js");
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script],
      { env: { ...process.env, BENCH_REDIS: redisAddress }, maxBuffer: 1 << 20, timeout: 600_000 },
      (error, stdout, stderr) => {
        if (error) {
          log(`  warning: wasm bench failed: ${error.message}\n${stderr}`);
          resolve(["### WebAssembly functions", "", `wasm-bench.js failed: ${error.message.split("\n")[0]}`, ""]);
        } else resolve(stdout.trimEnd().split("\n").concat(""));
      },
    );
  });
}

function machineFacts(): string[] {
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const version = (command: string, args: string[], pattern: RegExp) => {
    try {
      return pattern.exec(execFileSync(command, args, { encoding: "utf8" }))?.[1] ?? "unknown";
    } catch {
      return "not found";
    }
  };
  return [
    `date ${new Date().toISOString()}`,
    `nproc ${os.availableParallelism()} (${cpu}); servers on CPU ${serverCpu}, load generators on CPU ${loadCpu}`,
    `node ${process.version}; redis-server ${version("redis-server", ["--version"], /v=(\S+)/)}; h2load ${version("h2load", ["--version"], /nghttp2\/(\S+)/)}`,
    `load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
    `each run ${seconds} s after a 1 s warm-up per server and call; ghz over one HTTP/2 connection`,
  ];
}

const us = (value: number) => (Number.isNaN(value) ? "–" : value >= 1000 ? `${(value / 1000).toFixed(2)} ms` : `${value.toFixed(0)} µs`);

function markdown(
  rows: readonly Row[],
  streamRows: readonly StreamRow[],
  facts: readonly string[],
  memoryFacts: readonly string[],
  profileFacts: readonly string[],
  invocationLines: readonly string[],
  wasmSection: readonly string[],
  elapsed: number,
): string {
  const baseline = baselineDir === undefined ? "" : "BENCH_BASELINE=<checkout> ";
  const command = only === undefined ? `\`${baseline}make bench\`` : `\`${baseline}BENCH_ONLY=${only.join(",")} node bench/dist/main.js\``;
  const out = [`Command: ${command} (${elapsed.toFixed(0)} s).`, "", ...facts.map((f) => `- ${f}`), ""];
  const table = (title: string, section: string, ratioTo?: (row: Row) => Row | undefined) => {
    // A section BENCH_ONLY left out has no rows, and no table.
    if (!rows.some((r) => r.section === section)) return;
    out.push(`### ${title}`, "", "| server | call | load | rps | p50 | p99 | mean | server CPU | failed | note |", "|---|---|---|--:|--:|--:|--:|--:|--:|---|");
    for (const row of rows.filter((r) => r.section === section)) {
      const reference = ratioTo?.(row);
      const ratio = reference && reference !== row ? `**×${(row.result.rps / reference.result.rps).toFixed(2)}** of ${reference.server}` : "";
      const note = [ratio, row.note].filter(Boolean).join("; ");
      out.push(
        `| ${row.server} | ${row.call} | ${row.load} | ${row.result.rps.toFixed(0)} | ${us(row.result.p50)} | ${us(row.result.p99)} | ${us(row.result.mean)} | ` +
          `${row.cpu === undefined ? "–" : `${(row.cpu * 100).toFixed(0)} %`} | ${row.result.failed} | ${note} |`,
      );
    }
    out.push("");
  };
  const referenceOf = (row: Row) => rows.find((r) => r.section === row.section && r.call === row.call && r.load === row.load && r.server.startsWith("reference"));
  table("Headline: unary gRPC at c=16, the runtime against the reference in the same run", "headline", referenceOf);
  table("Every call through the runtime (in-memory components)", "grid", referenceOf);
  table("Connect JSON over HTTP/1.1 (Connect-ES path)", "connect");
  if (streamRows.length > 0) {
    out.push(
      `### Streaming: SubscribeTopicEvents draining a backlog of ${streamBacklog.toLocaleString("en")} events (Connect-ES path), streambench (grpc-go)`,
      "",
      "| server | events/s | time to first event | stream open (initial response) | server CPU per event | note |",
      "|---|--:|--:|--:|--:|---|",
      ...streamRows.map(
        (row) =>
          `| ${row.server} | ${row.result.perSecond.toFixed(0)} | ${row.result.firstMs.toFixed(2)} ms | ${row.result.openMs.toFixed(2)} ms | ${(row.cpuPerMessage * 1e6).toFixed(1)} µs | ${row.note} |`,
      ),
      "",
    );
  }
  if (observabilityLines.length > 0) {
    out.push("### Observability: what each layer costs, and all of it together (issue 10: ≤ 5 % throughput when on)", "", ...observabilityLines, "");
  }
  table("Redis", "redis");
  if (invocationLines.length > 0) {
    out.push("### Service invocation: InvokeService at 1,000 rps against the service called directly, same load generator (vegeta)", "", ...invocationLines, "");
  }
  out.push(...wasmSection);
  if (memoryFacts.length > 0) out.push("### Memory, start-up, allocation", "", ...memoryFacts.map((f) => `- ${f}`), "");
  if (profileFacts.length > 0) {
    out.push("### Where the runtime's CPU time goes (GetState in-memory, c=16; self time, idle left out)", "", ...profileFacts.map((f) => `- ${f}`), "");
  }
  return out.join("\n");
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
