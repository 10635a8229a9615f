import { performance } from "node:perf_hooks";

/**
 * The measuring loop shared by every benchmark: closed-loop workers (each awaits
 * its operation, then starts the next) for a fixed time, latencies in a
 * log-bucketed histogram (1 % wide buckets, so p50/p99 are within 1 %).
 *
 * Cases compared with each other are measured in interleaved rounds (A, B, A, B,
 * ...), so that a burst of load from a neighbour on a shared machine hits both
 * sides of a ratio alike, and each figure reported is the median over rounds.
 * Nothing here asserts on time: it only measures and reports.
 */

export interface Timing {
  /** Each case runs this long once, unmeasured, before its rounds. */
  readonly warmupMs: number;
  /** The length of one measured round. */
  readonly roundMs: number;
  /** Measured rounds per case; the median is reported. */
  readonly rounds: number;
}

/** One operation; worker is 0..concurrency-1, seq counts that worker's operations. */
export type Operation = (worker: number, seq: number) => Promise<unknown>;

export interface Case {
  /** The row's label, e.g. "runtime gRPC (in-memory)". */
  readonly name: string;
  readonly concurrency: number;
  readonly op: Operation;
  /**
   * The names of the cases (same concurrency, same group) this one is compared
   * with; each ratio is that case's throughput divided by this one's (how many
   * times the baseline's cost per operation this costs).
   */
  readonly baselines?: readonly string[];
}

export interface Round {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  /** Microseconds. */
  readonly p50: number;
  readonly p99: number;
}

export interface Result {
  readonly group: string;
  readonly name: string;
  readonly concurrency: number;
  /** Medians over the rounds, each figure separately. */
  readonly opsPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly rounds: readonly Round[];
  /** Per baseline: its ops/s ÷ this case's ops/s. */
  readonly ratios: { readonly baseline: string; readonly ratio: number }[];
}

/**
 * Warms every case up, then measures them in interleaved rounds; results in the
 * order of the cases, with ratios filled in. Prints one line per case as it goes.
 */
export async function measureGroup(group: string, cases: readonly Case[], timing: Timing): Promise<Result[]> {
  log(`\n## ${group}`);
  for (const c of cases) await runFor(c, timing.warmupMs);
  const rounds = cases.map((): Round[] => []);
  for (let r = 0; r < timing.rounds; r++) {
    for (let i = 0; i < cases.length; i++) rounds[i].push(await runFor(cases[i], timing.roundMs));
  }
  const results = cases.map(
    (c, i): Result => ({
      group,
      name: c.name,
      concurrency: c.concurrency,
      opsPerSec: median(rounds[i].map((x) => x.opsPerSec)),
      p50: median(rounds[i].map((x) => x.p50)),
      p99: median(rounds[i].map((x) => x.p99)),
      rounds: rounds[i],
      ratios: [],
    }),
  );
  cases.forEach((c, i) => {
    for (const baseline of c.baselines ?? []) {
      const base = results.find((r) => r.name === baseline && r.concurrency === c.concurrency);
      if (base === undefined) throw new Error(`${group}: no baseline "${baseline}" at concurrency ${c.concurrency}`);
      results[i].ratios.push({ baseline, ratio: base.opsPerSec / results[i].opsPerSec });
    }
  });
  for (const r of results) {
    log(
      `${pad(r.name, 44)} c=${pad(String(r.concurrency), 3)} ${pad(formatRate(r.opsPerSec), 9, true)} ops/s` +
        `  p50 ${pad(formatMicros(r.p50), 8, true)}  p99 ${pad(formatMicros(r.p99), 8, true)}` +
        r.ratios.map((x) => `  ${formatRatio(x.ratio)} vs ${x.baseline}`).join("") +
        `   [rounds: ${r.rounds.map((x) => formatRate(x.opsPerSec)).join(", ")}]`,
    );
  }
  return results;
}

const stallMs = 10_000;

/** Runs the case's workers until the deadline; operations started before it are let finish and counted. */
async function runFor(c: Case, ms: number): Promise<Round> {
  const histogram = new Histogram();
  let ops = 0;
  const start = performance.now();
  const deadline = start + ms;
  const worker = async (w: number): Promise<void> => {
    // The deadline is read on every operation, never by a timer: in-process
    // operations that resolve at once never yield to the timer phase.
    for (let seq = 0; ; seq++) {
      const t0 = performance.now();
      if (t0 >= deadline) return;
      await c.op(w, seq);
      histogram.record((performance.now() - t0) * 1000);
      ops++;
    }
  };
  // A lost reply or event would hang the run: fail it when nothing completes for a while.
  let stalled: NodeJS.Timeout | undefined;
  const stall = new Promise<never>((_, reject) => {
    let seen = -1;
    stalled = setInterval(() => {
      if (ops === seen) reject(new Error(`${c.name} (concurrency ${c.concurrency}): no operation completed in ${stallMs / 1000} s`));
      seen = ops;
    }, stallMs);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: c.concurrency }, (_, w) => worker(w))), stall]);
  } finally {
    clearInterval(stalled);
  }
  const seconds = (performance.now() - start) / 1000;
  return { ops, seconds, opsPerSec: ops / seconds, p50: histogram.percentile(50), p99: histogram.percentile(99) };
}

/** Latencies in microseconds, from 0.05 µs to about 50 s, in buckets 1 % wide. */
class Histogram {
  private static readonly min = 0.05;
  private static readonly growth = Math.log(1.01);
  private readonly counts = new Float64Array(Math.ceil(Math.log(1e9) / Histogram.growth) + 1);
  private total = 0;

  record(micros: number): void {
    const at = micros <= Histogram.min ? 0 : Math.ceil(Math.log(micros / Histogram.min) / Histogram.growth);
    this.counts[Math.min(at, this.counts.length - 1)]++;
    this.total++;
  }

  /** The upper edge of the bucket holding the p-th percentile; 0 when nothing was recorded. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Histogram.min * Math.exp(i * Histogram.growth);
    }
    return Histogram.min * Math.exp((this.counts.length - 1) * Histogram.growth);
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function formatRate(opsPerSec: number): string {
  if (opsPerSec >= 100_000) return `${Math.round(opsPerSec / 1000)}k`;
  if (opsPerSec >= 10_000) return `${(opsPerSec / 1000).toFixed(1)}k`;
  return String(Math.round(opsPerSec));
}

/** ×1316, ×12.6, ×1.02: three significant figures at most. */
export function formatRatio(ratio: number): string {
  return `×${ratio >= 100 ? ratio.toFixed(0) : ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}`;
}

export function formatMicros(micros: number): string {
  if (micros >= 10_000) return `${(micros / 1000).toFixed(1)} ms`;
  if (micros >= 1_000) return `${(micros / 1000).toFixed(2)} ms`;
  if (micros >= 10) return `${Math.round(micros)} µs`;
  return `${micros.toFixed(2)} µs`;
}

function pad(text: string, width: number, left = false): string {
  return left ? text.padStart(width) : text.padEnd(width);
}

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}
