/**
 * Reads V8's --trace-gc lines, e.g.
 *   [123:0x5f..]     5012 ms: Scavenge 10.9 (13.3) -> 9.6 (13.8) MB, 0.61 / 0.00 ms  (average mu = ...) allocation failure;
 * Between two collections the heap only grows by what was allocated, so the
 * bytes allocated are the sum of each collection's "before" minus the previous
 * one's "after".
 */
export interface GcSummary {
  readonly allocatedBytes: number;
  readonly scavenges: number;
  readonly markSweeps: number;
  /** The longest young-generation pause, in ms. */
  readonly maxScavengeMs: number;
}

const line = /(Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB, ([\d.]+) \/ ([\d.]+) ms/;

export function summarizeGcTrace(text: string): GcSummary {
  let allocated = 0;
  let previousAfter: number | undefined;
  let scavenges = 0;
  let markSweeps = 0;
  let maxScavengeMs = 0;
  for (const row of text.split("\n")) {
    const match = line.exec(row);
    if (!match) continue;
    const before = Number(match[2]);
    const after = Number(match[4]);
    if (previousAfter !== undefined) allocated += Math.max(0, before - previousAfter);
    previousAfter = after;
    if (match[1] === "Scavenge") {
      scavenges++;
      maxScavengeMs = Math.max(maxScavengeMs, Number(match[6]));
    } else markSweeps++;
  }
  return { allocatedBytes: allocated * 1024 * 1024, scavenges, markSweeps, maxScavengeMs };
}
