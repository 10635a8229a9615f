import { measurePairs, pairsMarkdown, throughputRatio, type Comparison, type PairHarness, type PairRun } from "../src/observability-pairs";

/**
 * The observability section's measure and verdict: the ratio's direction (a
 * setting that costs more CPU per call reads below ×1), both runtimes of a pair
 * loaded at once, every runtime stopped even when a run fails, and the target
 * decided on the mean over the pairs.
 */

/** A run of `calls` calls that took `micros` µs of CPU each. */
const run = (micros: number, calls = 100_000): PairRun => ({ calls, cpuSeconds: (micros * calls) / 1e6, rps: calls / 30, failed: 0 });

/** A harness whose runtimes cost what their config says (µs of CPU per call), recording what happened. */
function fakeHarness(events: string[], failAt?: string): PairHarness<"Get", { config: string }> {
  let inFlight = 0;
  return {
    async start(config) {
      events.push(`start ${config}`);
      return { target: { config }, stop: async () => events.push(`stop ${config}`) };
    },
    async check(target, call) {
      events.push(`check ${target.config} ${call}`);
    },
    async run(target, _call, seconds) {
      if (`${target.config} ${seconds}` === failAt) throw new Error("h2load failed");
      inFlight++;
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`run ${target.config} ${seconds} s with ${inFlight} in flight`);
      inFlight--;
      return run(Number(target.config));
    },
    log: () => undefined,
  };
}

const comparison = (reference: number, observed: number, target?: number): Comparison => ({
  reference: { name: `ref ${reference}`, config: String(reference) },
  observed: { name: `obs ${observed}`, config: String(observed) },
  ...(target === undefined ? {} : { target }),
});

describe("observability pairs", () => {
  it("reads a setting that costs more CPU per call as less throughput", () => {
    expect(throughputRatio({ reference: run(30), observed: run(31.5) })).toBeCloseTo(30 / 31.5, 10);
    expect(throughputRatio({ reference: run(30), observed: run(30) })).toBe(1);
  });

  it("loads both runtimes of a pair at once, warm-up then measure, and alternates which starts first", async () => {
    const events: string[] = [];
    const results = await measurePairs(fakeHarness(events), [comparison(30, 31)], ["Get"], { pairs: 2, warmSeconds: 15, runSeconds: 30 });
    const samples = [...results.values()][0]!.get("Get")!;
    expect(samples).toHaveLength(2);
    expect(samples.map(throughputRatio)).toEqual([30 / 31, 30 / 31]);
    expect(events.filter((e) => e.startsWith("start"))).toEqual(["start 30", "start 31", "start 31", "start 30"]);
    const runs = events.filter((e) => e.startsWith("run"));
    // Per pair: both warmed at once, then both measured at once.
    expect(runs.map((e) => e.split(" ")[2])).toEqual(["15", "15", "30", "30", "15", "15", "30", "30"]);
    expect(runs.filter((e) => e.endsWith("with 2 in flight"))).toHaveLength(4);
    expect(events.filter((e) => e.startsWith("stop"))).toHaveLength(4);
  });

  it("stops both runtimes of a pair when a run fails", async () => {
    const events: string[] = [];
    await expect(measurePairs(fakeHarness(events, "31 30"), [comparison(30, 31)], ["Get"], { pairs: 1, warmSeconds: 15, runSeconds: 30 })).rejects.toThrow("h2load failed");
    expect(events.filter((e) => e.startsWith("stop")).sort()).toEqual(["stop 30", "stop 31"]);
  });

  it("decides the target on the mean over the pairs, and marks a comparison without one as information", async () => {
    const results = await measurePairs(fakeHarness([]), [comparison(30, 31, 0.95), comparison(30, 32, 0.95), comparison(30, 60)], ["Get"], {
      pairs: 1,
      warmSeconds: 1,
      runSeconds: 1,
    });
    const rows = pairsMarkdown(results, { pairs: 1, warmSeconds: 1, runSeconds: 1 }, 64).filter((line) => line.startsWith("| obs "));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain("**×0.968**");
    expect(rows[0]).toContain("≥ ×0.95: met");
    expect(rows[1]).toContain("**×0.938**");
    expect(rows[1]).toContain("≥ ×0.95: **NOT met**");
    expect(rows[2]).toContain("**×0.500**");
    expect(rows[2]).toContain("for information");
  });
});
