/**
 * Ottavo's hot-path benchmarks: `make bench` (which builds, then runs
 * `node bench/dist/main.js`). Starts a redis-server, two runtimes and a bare
 * Connect-ES server (bare-server.ts) on free loopback ports, measures, prints a
 * table and writes it to bench/out/latest.md (RESULTS.md is written from it by hand);
 * every process it started is stopped on the way out, also on failure or Ctrl-C.
 *
 * Settings (environment): BENCH_WARMUP_MS (750), BENCH_ROUND_MS (1500),
 * BENCH_ROUNDS (3), BENCH_ONLY (groups, e.g. "1,3a").
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startRedis, startRuntime, stopAllRuntimes, type RedisServer } from "@ottavo/test-support";
import { formatMicros, formatRate, formatRatio, log, type Result, type Timing } from "./harness";
import { startBareServer } from "./processes";
import { helloTransports, names, nextIdModes, pubsubDelivery, stateInMemory, stateRedis } from "./suites";

const timing: Timing = {
  warmupMs: numberFromEnv("BENCH_WARMUP_MS", 750),
  roundMs: numberFromEnv("BENCH_ROUND_MS", 1500),
  rounds: numberFromEnv("BENCH_ROUNDS", 3),
};
const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
const wanted = (group: string) => only === undefined || only.includes(group);

const memoryConfig = `app: { id: bench }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  hello:
    ${names.hello}: { type: helloworld, metadata: { hello: greetings } }
  state:
    ${names.state}: { type: in-memory }
  pubsub:
    ${names.pubsub}: { type: in-memory }
`;

const redisConfig = (redis: RedisServer) => `app: { id: bench }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    ${names.state}: { type: redis, metadata: { redisHost: "${redis.host}:${redis.port}" } }
  sequencer:
    ${names.sequencer}: { type: redis, metadata: { redisHost: "${redis.host}:${redis.port}" } }
`;

async function main(): Promise<void> {
  const started = new Date();
  const facts = machineFacts(started);
  log(`ottavo bench: ${facts.join("; ")}`);
  log(`timing: warm-up ${timing.warmupMs} ms, then ${timing.rounds} rounds of ${timing.roundMs} ms per case, interleaved; medians reported`);

  const results: Result[] = [];
  let redis: RedisServer | undefined;
  let bare: { url: string; stop(): Promise<void> } | undefined;
  try {
    const memory = await startRuntime({ config: memoryConfig });
    if (wanted("1")) results.push(...(await stateInMemory(memory.apiUrl, timing)));
    if (wanted("2") || wanted("3b")) {
      redis = await startRedis();
      const onRedis = await startRuntime({ config: redisConfig(redis) });
      if (wanted("2")) results.push(...(await stateRedis(onRedis.apiUrl, redis.host, redis.port, timing)));
      if (wanted("3b")) results.push(...(await nextIdModes(onRedis.apiUrl, timing)));
    }
    if (wanted("3a")) {
      bare = await startBareServer();
      results.push(...(await helloTransports(memory.apiUrl, bare.url, timing)));
    }
    if (wanted("4")) results.push(...(await pubsubDelivery(memory.apiUrl, timing)));
  } finally {
    // SIGTERM, SIGKILL after a grace; then the temp folders go.
    await stopAllRuntimes(3_000);
    await redis?.stop();
    await bare?.stop();
  }
  results.sort((a, b) => groupOrder(a.group) - groupOrder(b.group));

  const seconds = (Date.now() - started.getTime()) / 1000;
  const report = markdown(results, facts, seconds);
  log(`\n${report}`);
  const out = path.resolve(__dirname, "..", "out", "latest.md");
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, report);
  log(`written to ${path.relative(process.cwd(), out)} (${seconds.toFixed(0)} s in all)`);
}

/** "1", "2", "3a", "3b", "4" in that order. */
function groupOrder(group: string): number {
  return ["1.", "2.", "3a.", "3b.", "4."].findIndex((prefix) => group.startsWith(prefix));
}

function machineFacts(date: Date): string[] {
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  let redisVersion = "redis-server not found";
  try {
    redisVersion = /v=(\S+)/.exec(execFileSync("redis-server", ["--version"], { encoding: "utf8" }))?.[1] ?? "unknown";
  } catch {
    // reported as not found
  }
  return [
    `date ${date.toISOString()}`,
    `nproc ${os.availableParallelism()} (${cpu})`,
    `node ${process.version}`,
    `redis-server ${redisVersion}`,
    `load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  ];
}

/** The results as a Markdown table, one row per case, with the run's settings above it. */
function markdown(results: readonly Result[], facts: readonly string[], seconds: number): string {
  const lines = [
    `Command: \`make bench\` (runs \`node bench/dist/main.js\`), ${seconds.toFixed(0)} s.`,
    "",
    ...facts.map((f) => `- ${f}`),
    `- warm-up ${timing.warmupMs} ms per case, then ${timing.rounds} rounds of ${timing.roundMs} ms per case, ` +
      "the cases of a group interleaved round by round; each figure is the median over rounds; " +
      "spread is half the range of ops/s over the rounds, relative to the median",
    "",
    "| group | case | conc | ops/s | p50 | p99 | spread | cost × (baseline ops/s ÷ ops/s) |",
    "|---|---|--:|--:|--:|--:|--:|---|",
  ];
  for (const r of results) {
    const rates = r.rounds.map((x) => x.opsPerSec);
    const spread = ((Math.max(...rates) - Math.min(...rates)) / 2 / r.opsPerSec) * 100;
    const ratios = r.ratios.map((x) => `**${formatRatio(x.ratio)}** vs ${x.baseline}`).join("; ");
    lines.push(
      `| ${r.group.split(" ")[0].replace(/\.$/, "")} | ${r.name} | ${r.concurrency} | ${formatRate(r.opsPerSec)} | ` +
        `${formatMicros(r.p50)} | ${formatMicros(r.p99)} | ±${spread.toFixed(0)} % | ${ratios} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function numberFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(text)}`);
  return value;
}

// Ctrl-C or a kill: exit now; test-support's exit hooks SIGKILL the runtimes and redis-server.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping what it started\n`);
    process.exit(130);
  });
}

// Exits once done, whatever a cancelled stream may still hold open; everything it started is stopped by then.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
