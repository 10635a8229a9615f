/**
 * Allocation and GC pauses of a measured server over a window, from inside it:
 * loaded with `node -r bench/dist/gc-window.js`, a SIGUSR2 opens the window, the
 * next one closes it and prints one line on stdout, `gc-window {...}` (gc-trace.ts
 * reads it).
 *
 * Bytes allocated are the used heap's growth between collections, counted over the
 * whole window: from its start to the first collection, between collections, and
 * from the last one to its end. Reading --trace-gc instead saw only the stretches
 * between two collections inside the window, which at 1,000 rps (three or four
 * scavenges in 3 s) left out about a third of what was allocated.
 */
import { writeSync } from "node:fs";
import { GCProfiler, getHeapSpaceStatistics } from "node:v8";

interface HeapSpaces {
  readonly heapSpaceStatistics: readonly { readonly spaceUsedSize: number }[];
}
interface GcRecord {
  readonly gcType: string;
  /** How long the collection took, in microseconds. */
  readonly cost: number;
  readonly beforeGC: HeapSpaces;
  readonly afterGC: HeapSpaces;
}

const usedNow = () => getHeapSpaceStatistics().reduce((sum, space) => sum + space.space_used_size, 0);
const used = (spaces: HeapSpaces) => spaces.heapSpaceStatistics.reduce((sum, space) => sum + space.spaceUsedSize, 0);

let window: { profiler: GCProfiler; usedAtStart: number } | undefined;

process.on("SIGUSR2", () => {
  if (window === undefined) {
    const profiler = new GCProfiler();
    window = { profiler, usedAtStart: usedNow() };
    profiler.start();
    return;
  }
  const usedAtEnd = usedNow();
  const { statistics } = window.profiler.stop() as { statistics: GcRecord[] };
  let previous = window.usedAtStart;
  window = undefined;
  let allocatedBytes = 0;
  let scavenges = 0;
  let otherCollections = 0;
  let maxScavengeMs = 0;
  for (const gc of statistics) {
    allocatedBytes += Math.max(0, used(gc.beforeGC) - previous);
    previous = used(gc.afterGC);
    if (gc.gcType === "Scavenge") {
      scavenges++;
      maxScavengeMs = Math.max(maxScavengeMs, gc.cost / 1000);
    } else otherCollections++;
  }
  allocatedBytes += Math.max(0, usedAtEnd - previous);
  writeSync(1, `gc-window ${JSON.stringify({ allocatedBytes, scavenges, otherCollections, maxScavengeMs })}\n`);
});
