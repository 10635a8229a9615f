import { withComponentMetrics } from "../../src/observability/component-metrics";
import type { RuntimeMetrics } from "../../src/observability/metrics";
import { ComponentTable, type ComponentEntry } from "../../src/registry/component-table";

/**
 * A component's synchronous form (what an inline function's host calls reach) behind the
 * component metrics: each operation timed and counted into the same series as the async
 * operation of that name, `this` kept for forms whose operations are methods, other
 * properties passed through, and a failure counted and thrown unchanged.
 */

/** A sync form written as a class: its operations are prototype methods that use `this`. */
class CountingSync {
  readonly label = "counting";
  calls = 0;

  get(request: { key: string }): { found: boolean; key: string } {
    this.calls++;
    return { found: true, key: request.key };
  }

  delete(): void {
    throw new Error("refused");
  }
}

/** What the metrics were handed: one record per timed operation. */
interface Timed {
  readonly series: string;
  readonly failed: boolean;
  readonly seconds: number;
}

/** RuntimeMetrics as the component metrics use it (componentOperation), recording what it is handed. */
function recordingMetrics(records: Timed[]): RuntimeMetrics {
  const metrics = {
    componentOperation: (capability: string, component: string, operation: string) => (failed: boolean, seconds: number) =>
      records.push({ series: `${capability}/${component}/${operation}`, failed, seconds }),
  };
  return metrics as unknown as RuntimeMetrics;
}

describe("component metrics of a synchronous form", () => {
  it("times and counts each operation, keeps `this`, passes other properties through, counts a failure", () => {
    const sync = new CountingSync();
    const store = { features: new Set<string>(), sync, get: async () => ({ found: false }) };
    const table = new ComponentTable("app");
    table.add({ capability: "state", name: "store_a", type: "test", component: store, metadata: {} } as unknown as ComponentEntry<"state">);
    const records: Timed[] = [];
    const measured = withComponentMetrics(table, recordingMetrics(records)).get("state", "store_a")!.component as unknown as { sync: CountingSync };

    const form = measured.sync;
    expect(form).not.toBe(sync);
    // The same measured form each time the component is asked for it (made once).
    expect(measured.sync).toBe(form);
    expect(form.label).toBe("counting");
    expect(form.get({ key: "k1" })).toEqual({ found: true, key: "k1" });
    expect(form.get({ key: "k2" })).toEqual({ found: true, key: "k2" });
    // The operation ran on the form itself, not on the wrapper.
    expect(sync.calls).toBe(2);
    expect(() => form.delete()).toThrow("refused");

    expect(records.map(({ series, failed }) => ({ series, failed }))).toEqual([
      { series: "state/store_a/get", failed: false },
      { series: "state/store_a/get", failed: false },
      { series: "state/store_a/delete", failed: true },
    ]);
    for (const { seconds } of records) expect(seconds).toBeGreaterThanOrEqual(0);
  });
});
