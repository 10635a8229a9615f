/**
 * The observability section's measure: what a setting costs against its
 * reference, as the ratio of their server CPU time per call, with the two
 * runtimes served side by side.
 *
 * Why side by side: this host's speed drifts by tens of percent from minute to
 * minute (one setting's CPU per call ranged from 21 to 48 µs between fresh
 * runtimes measured one after the other), far more than the 5 % the target is
 * about. Two runtimes pinned to the same core, each under its own load
 * generator, see the same host at the same moment, and their ratio keeps
 * still while the absolute figures swing.
 *
 * Why long runs of warmed runtimes: a sidecar serves for hours, and the target
 * is about its steady state. In a runtime's first seconds its JIT still
 * compiles (a call path taken by 1 % of calls, as a sampled call's, reaches
 * optimized code last), and a run of 3 s holds a major GC or none (a pause of
 * 100–200 ms here), so short runs read several percent apart for the same
 * pair; runs of 30 s after 15 s of warming put most pairs of one comparison
 * within ±1 % of each other (the widest here: ±2 %).
 */

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** One measured run of one runtime of a pair. */
export interface PairRun {
  /** Calls answered with OK during the run. */
  readonly calls: number;
  /** The runtime's CPU time over the run (all its threads), in seconds. */
  readonly cpuSeconds: number;
  readonly rps: number;
  readonly failed: number;
}

/** What the measure needs of the bench: runtimes, checked warm-up calls, and a load run that counts CPU time. */
export interface PairHarness<Call extends string, Target> {
  /** Starts a runtime of the config, pinned to the servers' core, its stdout to a log collector. */
  start(config: string): Promise<{ readonly target: Target; stop(): Promise<unknown> }>;
  /** A short warm-up that checks every call's status. */
  check(target: Target, call: Call): Promise<void>;
  /** A load run of `seconds` at the section's concurrency. */
  run(target: Target, call: Call, seconds: number): Promise<PairRun>;
  log(line: string): void;
}

export interface Comparison {
  readonly reference: { readonly name: string; readonly config: string };
  readonly observed: { readonly name: string; readonly config: string };
  /** The least throughput ratio the observed setting may have; none for a comparison that is for information. */
  readonly target?: number;
}

export interface PairOptions {
  readonly pairs: number;
  readonly warmSeconds: number;
  readonly runSeconds: number;
}

/** One pair's runs of one call: the reference's and the observed setting's, at the same time. */
export interface PairSample {
  readonly reference: PairRun;
  readonly observed: PairRun;
}

/** CPU time per call of a run, in microseconds. */
export function cpuMicrosPerCall(run: PairRun): number {
  return run.calls > 0 ? (run.cpuSeconds / run.calls) * 1e6 : NaN;
}

/**
 * The observed setting's throughput on a saturated core as a share of the
 * reference's: the ratio of their CPU time per call (the reference's over the
 * observed one's), one per pair.
 */
export function throughputRatio(sample: PairSample): number {
  return cpuMicrosPerCall(sample.reference) / cpuMicrosPerCall(sample.observed);
}

/** The throughput ratio over several pairs: the mean of theirs (NaN for none). */
export function meanRatio(samples: readonly PairSample[]): number {
  return samples.length === 0 ? NaN : mean(samples.map(throughputRatio));
}

/**
 * Per comparison, `pairs` pairs of fresh runtimes (the reference's config and
 * the observed one's), each pair served side by side: per call, checked, both
 * loaded for `warmSeconds`, then both measured for `runSeconds` at once.
 * Returns every pair's runs per comparison and call.
 */
export async function measurePairs<Call extends string, Target>(
  harness: PairHarness<Call, Target>,
  comparisons: readonly Comparison[],
  calls: readonly Call[],
  options: PairOptions,
): Promise<Map<Comparison, Map<Call, PairSample[]>>> {
  const out = new Map<Comparison, Map<Call, PairSample[]>>();
  for (const comparison of comparisons) {
    const byCall = new Map<Call, PairSample[]>(calls.map((call) => [call, []]));
    out.set(comparison, byCall);
    for (let pair = 0; pair < options.pairs; pair++) {
      // Which of the two starts first alternates: nothing of the order is in the ratio.
      const order = pair % 2 === 0 ? [comparison.reference, comparison.observed] : [comparison.observed, comparison.reference];
      const started = new Map<string, { readonly target: Target; stop(): Promise<unknown> }>();
      try {
        for (const setting of order) started.set(setting.name, await harness.start(setting.config));
        const reference = started.get(comparison.reference.name)!.target;
        const observed = started.get(comparison.observed.name)!.target;
        for (const call of calls) {
          await harness.check(reference, call);
          await harness.check(observed, call);
          await Promise.all([harness.run(reference, call, options.warmSeconds), harness.run(observed, call, options.warmSeconds)]);
          const [referenceRun, observedRun] = await Promise.all([harness.run(reference, call, options.runSeconds), harness.run(observed, call, options.runSeconds)]);
          const sample = { reference: referenceRun, observed: observedRun };
          byCall.get(call)!.push(sample);
          harness.log(
            `  ${call} ${comparison.observed.name} against ${comparison.reference.name}, pair ${pair + 1}: ` +
              `${cpuMicrosPerCall(observedRun).toFixed(1)} / ${cpuMicrosPerCall(referenceRun).toFixed(1)} µs CPU per call, ×${throughputRatio(sample).toFixed(3)}`,
          );
        }
      } finally {
        for (const runtime of started.values()) await runtime.stop();
      }
    }
  }
  return out;
}

/**
 * The section's table: per comparison and call, both settings' CPU time per call
 * and throughput (means over the pairs; each runtime had half the core), the
 * throughput ratio (mean over the pairs) with its lowest and highest pair, and
 * whether it meets the comparison's target.
 */
export function pairsMarkdown<Call extends string>(results: Map<Comparison, Map<Call, PairSample[]>>, options: PairOptions, streams: number): string[] {
  const out = [
    `Two fresh runtimes side by side on the servers' core, each under its own h2load (${streams} streams) on the other core, its stdout a pipe read by a log collector there; ` +
      `per call, both checked with ghz, loaded for ${options.warmSeconds} s, then measured for ${options.runSeconds} s at once; ${options.pairs} pair${options.pairs === 1 ? "" : "s"} of runtimes per comparison. ` +
      "The throughput ratio is the ratio of the two runtimes' CPU time per call (what a saturated core serves), each pair's own; the mean over the pairs, and in brackets the lowest and highest pair.",
    "",
    "| observed setting | reference | call | CPU per call, observed / reference | rps each (half a core) | throughput ratio | target |",
    "|---|---|---|--:|--:|--:|---|",
  ];
  for (const [comparison, byCall] of results) {
    for (const [call, samples] of byCall) {
      if (samples.length === 0) continue;
      const ratios = samples.map(throughputRatio);
      const ratio = meanRatio(samples);
      const cpu = (pick: (sample: PairSample) => PairRun) => mean(samples.map((sample) => cpuMicrosPerCall(pick(sample)))).toFixed(1);
      const rps = (pick: (sample: PairSample) => PairRun) => mean(samples.map((sample) => pick(sample).rps)).toFixed(0);
      const failed = samples.reduce((sum, sample) => sum + sample.observed.failed + sample.reference.failed, 0);
      const verdict =
        comparison.target === undefined ? "for information" : `≥ ×${comparison.target.toFixed(2)}: ${ratio >= comparison.target ? "met" : "**NOT met**"}`;
      out.push(
        `| ${comparison.observed.name} | ${comparison.reference.name} | ${call} | ${cpu((s) => s.observed)} / ${cpu((s) => s.reference)} µs | ` +
          `${rps((s) => s.observed)} / ${rps((s) => s.reference)} | **×${ratio.toFixed(3)}** (×${Math.min(...ratios).toFixed(3)} – ×${Math.max(...ratios).toFixed(3)}) | ` +
          `${verdict}${failed > 0 ? `; ${failed} calls failed` : ""} |`,
      );
    }
  }
  return out;
}
