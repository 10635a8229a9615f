import type { Segment } from "@ottavo/generated/components/sequencer";

/** Ids reserved per store round trip, as Layotto's DoubleBuffer (pkg/runtime/sequencer/cache.go). */
export const defaultSegmentSize = 10_000;
/** When this few ids remain, the next block is reserved in the background (Layotto's limit). */
export const defaultRefillThreshold = 1_000;

/**
 * Hands out WEAK ids of one sequence key from reserved blocks: ids increase within
 * this process and may jump between blocks. One reservation is in flight at most:
 * concurrent callers that find the block used up wait for the same one. The next
 * block is reserved ahead of time when the current one runs low, so callers rarely
 * wait; a failed background reservation is retried by the next caller that needs it.
 */
export class SegmentCache {
  private next = 1n;
  private last = 0n; // next > last: nothing left
  private started = false;
  private spare: Segment | undefined;
  private inFlight: Promise<Segment> | undefined;

  constructor(
    private readonly reserve: (size: number) => Promise<Segment>,
    private readonly size = defaultSegmentSize,
    private readonly refillThreshold = defaultRefillThreshold,
  ) {}

  async nextId(): Promise<bigint> {
    for (;;) {
      if (this.next <= this.last) {
        const id = this.next++;
        if (this.last - this.next < BigInt(this.refillThreshold) && this.spare === undefined && this.inFlight === undefined) {
          // Background refill; its failure only means the next caller reserves in the foreground.
          this.fetch().catch(() => undefined);
        }
        return id;
      }
      if (this.spare !== undefined) {
        const segment = this.spare;
        this.spare = undefined;
        this.install(segment);
        continue;
      }
      await this.fetch();
    }
  }

  /** Reserves a block into `spare`, sharing a reservation already in flight. */
  private fetch(): Promise<Segment> {
    if (this.inFlight !== undefined) return this.inFlight;
    const pending = this.reserve(this.size).then(
      (segment) => {
        this.inFlight = undefined;
        if (segment.to < segment.from) {
          throw new Error(`the store reserved an empty block (from ${segment.from} to ${segment.to})`);
        }
        this.spare = segment;
        return segment;
      },
      (error: unknown) => {
        this.inFlight = undefined;
        throw error;
      },
    );
    this.inFlight = pending;
    return pending;
  }

  private install(segment: Segment): void {
    // Never hand out an id at or below one already given, whatever the store answered.
    const from = this.started && segment.from < this.next ? this.next : segment.from;
    if (from > segment.to) {
      throw new Error(`the store reserved ids ${segment.from} to ${segment.to}, which were already handed out`);
    }
    this.started = true;
    this.next = from;
    this.last = segment.to;
  }
}
