import { Code, ConnectError } from "@connectrpc/connect";
import type { AdapterContext } from "@ottavo/generated/components/adapter";
import { MetadataError } from "@ottavo/generated/components/metadata";
import type { NextIdRequest } from "@ottavo/generated/components/sequencer";
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

  async nextId(request: NextIdRequest): Promise<bigint> {
    const previous = this.last.get(request.key) ?? maxOf(this.floors.get(request.key) ?? 0n, 0n);
    const next = previous + 1n;
    if (next > INT64_MAX) {
      throw new ConnectError(`sequence '${request.key}' has reached the int64 maximum`, Code.ResourceExhausted);
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

/**
 * Reads context.settings.biggerThan, a map of key to floor whose values may be
 * integers or decimal strings (config files give either). Every bad entry is
 * reported at once, each naming its key.
 */
export function readBiggerThan(context: AdapterContext): Map<string, bigint> {
  const floors = new Map<string, bigint>();
  const given = context.settings["biggerThan"];
  if (given === undefined || given === null) return floors;
  if (typeof given !== "object" || Array.isArray(given)) {
    throw new MetadataError([
      `sequencer '${context.componentName}': biggerThan must be a map of key to integer, not ${JSON.stringify(given)}`,
    ]);
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(given)) {
    const floor = toInt64(value);
    if (floor !== undefined) {
      floors.set(key, floor);
    } else if (typeof value === "number" && Number.isInteger(value)) {
      problems.push(
        `sequencer '${context.componentName}': biggerThan '${key}' is too large for a JSON number; give it as a string`,
      );
    } else {
      problems.push(
        `sequencer '${context.componentName}': biggerThan '${key}' must be an int64 integer, not ${describe(value)}`,
      );
    }
  }
  if (problems.length > 0) throw new MetadataError(problems);
  return floors;
}

function toInt64(value: unknown): bigint | undefined {
  let n: bigint | undefined;
  // Beyond 2^53 a JSON number has already lost digits: ask for a string instead.
  if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === "bigint") n = value;
  else if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) n = BigInt(value.trim());
  return n !== undefined && n >= -INT64_MAX - 1n && n < INT64_MAX ? n : undefined;
}

function describe(value: unknown): string {
  return typeof value === "bigint" ? value.toString() : JSON.stringify(value) ?? String(value);
}

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
