import { ResourceExhaustedError } from "@ottavo/generated/components/errors";
import type { NextIdRequest, SequencerSync } from "@ottavo/generated/components/sequencer";
import { readBiggerThan } from "@ottavo/adapter-kit";
import {
  defineInMemorySequencerAdapter,
  inMemorySequencerFeatures,
  type InMemorySequencer as InMemorySequencerContract,
} from "@ottavo/generated/components/adapters/in-memory";

const INT64_MAX = 2n ** 63n - 1n;

/**
 * The "in-memory" sequencer: per key, ids 1, 2, 3, ... in this process, restarting
 * when it stops. A key with a floor (Layotto's biggerThan) starts just above it;
 * floors of 0 or below change nothing, as upstream.
 */
export class InMemorySequencer implements InMemorySequencerContract {
  readonly features = new Set(inMemorySequencerFeatures);

  /** The last id handed out per key. */
  private readonly last = new Map<string, bigint>();

  /** floors: key (as the kernel scopes it) to the value every id must exceed. */
  constructor(private readonly floors: ReadonlyMap<string, bigint> = new Map()) {}

  /** Answers at once: the same work, synchronously. */
  readonly sync: SequencerSync = { nextId: (request) => this.next(request) };

  async nextId(request: NextIdRequest): Promise<bigint> {
    return this.next(request);
  }

  private next(request: NextIdRequest): bigint {
    const previous = this.last.get(request.key) ?? maxOf(this.floors.get(request.key) ?? 0n, 0n);
    const next = previous + 1n;
    if (next > INT64_MAX) {
      throw new ResourceExhaustedError(`sequence '${request.key}' has reached the int64 maximum`);
    }
    this.last.set(request.key, next);
    return next;
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {}
}

/** The "in-memory" sequencer adapter, as the registry holds it. */
export const inMemorySequencerAdapter = defineInMemorySequencerAdapter(
  async (_metadata, context) => new InMemorySequencer(readBiggerThan(context)),
);

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
