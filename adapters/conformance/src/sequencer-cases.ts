import {
  sequencerFeatures,
  type Segment,
  type Sequencer,
  type SequencerFeature,
  type SequencerWith,
} from "@ottavo/generated/components/sequencer";
import { check, equal, fail, succeeds } from "./assertions";
import type { ConformanceCase, ConformanceSuite } from "./conformance-case";

/**
 * The sequencer suite, from spec/components/sequencer.cap: ids per key, each
 * greater than every id the key handed out before (what the runtime serves as
 * STRONG). WEAK ids are the kernel's, served from segments: at the adapter they
 * are proven through SEGMENT. The suite talks to the adapter directly, so a
 * biggerThan floor names the key exactly as the suite passes it (the kernel
 * would prefix both the same way).
 */

type Case<F extends SequencerFeature | never> = ConformanceCase<[F] extends [never] ? Sequencer : SequencerWith<F>, SequencerFeature>;

const core: readonly Case<never>[] = [
  {
    name: "the first id of a new key is at least 1",
    async run(sequencer, env) {
      const key = env.key("k");
      const first = await next(sequencer, key);
      check(first >= 1n, `first id of new key '${key}': expected at least 1, got ${first}`);
    },
  },
  {
    name: "ids of one key strictly increase over 200 calls",
    async run(sequencer, env) {
      const key = env.key("k");
      let previous = await next(sequencer, key);
      for (let i = 1; i < 200; i++) {
        const id = await next(sequencer, key);
        check(id > previous, `id ${i + 1} of '${key}': expected more than ${previous}, got ${id}`);
        previous = id;
      }
    },
  },
  {
    name: "50 concurrent calls on one key get 50 distinct ids, all above earlier ones and below later ones",
    async run(sequencer, env) {
      const key = env.key("k");
      const before = await next(sequencer, key);
      const ids = await Promise.all(Array.from({ length: 50 }, () => next(sequencer, key)));
      equal(new Set(ids).size, 50, `distinct ids among 50 concurrent calls on '${key}'`);
      const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      check(sorted[0] > before, `concurrent ids of '${key}': the least, ${sorted[0]}, should exceed the earlier id ${before}`);
      const after = await next(sequencer, key);
      check(after > sorted[49], `id of '${key}' after the concurrent calls: expected more than ${sorted[49]}, got ${after}`);
    },
  },
  {
    name: "keys are independent: interleaved calls increase per key",
    async run(sequencer, env) {
      const keys = [env.key("a"), env.key("b"), env.key("c")];
      const last = new Map<string, bigint>();
      for (let round = 0; round < 20; round++) {
        for (const key of keys) {
          const id = await next(sequencer, key);
          const previous = last.get(key);
          check(previous === undefined ? id >= 1n : id > previous, `interleaved id of '${key}': expected more than ${previous ?? 0n}, got ${id}`);
          last.set(key, id);
        }
      }
    },
  },
  {
    name: "biggerThan: a key with a floor of 100 starts above it; a key without a floor is unaffected",
    async run(_sequencer, env) {
      const [floored, plain] = [env.key("floored"), env.key("plain")];
      const sequencer = await env.open({ biggerThan: { [floored]: 100 } });
      const first = await next(sequencer, floored);
      check(first > 100n, `first id of '${floored}' with biggerThan 100: expected more than 100, got ${first}`);
      const second = await next(sequencer, floored);
      check(second > first, `second id of '${floored}': expected more than ${first}, got ${second}`);
      const other = await next(sequencer, plain);
      check(other >= 1n, `first id of '${plain}' without a floor: expected at least 1, got ${other}`);
    },
  },
];

const segment: readonly Case<"SEGMENT">[] = [
  {
    name: "reserveSegment(size) answers a block of exactly size ids, from >= 1",
    async run(sequencer, env) {
      for (const size of [1, 10, 1000]) {
        const key = env.key(`size-${size}`);
        const block = await reserve(sequencer, key, size);
        check(block.from >= 1n, `segment of ${size} for new '${key}': from should be at least 1, got ${block.from}`);
        equal(block.to - block.from + 1n, BigInt(size), `ids in a segment of ${size} for '${key}' (${block.from}..${block.to})`);
      }
    },
  },
  {
    name: "segments and nextId never overlap: each is above everything handed out before",
    async run(sequencer, env) {
      const key = env.key("k");
      const a = await next(sequencer, key);
      const s1 = await reserve(sequencer, key, 10);
      check(s1.from > a, `segment of '${key}' after id ${a}: should start above it, got ${s1.from}..${s1.to}`);
      const b = await next(sequencer, key);
      check(b > s1.to, `id of '${key}' after segment ${s1.from}..${s1.to}: expected more than ${s1.to}, got ${b}`);
      const s2 = await reserve(sequencer, key, 5);
      check(s2.from > b, `segment of '${key}' after id ${b}: should start above it, got ${s2.from}..${s2.to}`);
      const s3 = await reserve(sequencer, key, 5);
      check(s3.from > s2.to, `segment of '${key}' after segment ${s2.from}..${s2.to}: got ${s3.from}..${s3.to}`);
    },
  },
  {
    name: "10 concurrent segments of one key are pairwise disjoint",
    async run(sequencer, env) {
      const key = env.key("k");
      const blocks = await Promise.all(Array.from({ length: 10 }, () => reserve(sequencer, key, 7)));
      const sorted = [...blocks].sort((x, y) => (x.from < y.from ? -1 : x.from > y.from ? 1 : 0));
      for (let i = 1; i < sorted.length; i++) {
        check(
          sorted[i].from > sorted[i - 1].to,
          `concurrent segments of '${key}' overlap: ${sorted[i - 1].from}..${sorted[i - 1].to} and ${sorted[i].from}..${sorted[i].to}`,
        );
      }
    },
  },
  {
    name: "segments honour biggerThan",
    async run(_sequencer, env) {
      const key = env.key("floored");
      const sequencer = await env.open({ biggerThan: { [key]: 100 } });
      const block = await reserve(sequencer, key, 10);
      check(block.from > 100n, `segment of '${key}' with biggerThan 100: should start above 100, got ${block.from}..${block.to}`);
    },
  },
];

/** Every sequencer case, by group; a feature added to sequencer.cap fails this declaration until it has cases. */
export const sequencerCases: { readonly core: readonly Case<never>[] } & { readonly [F in SequencerFeature]: readonly Case<F>[] } = {
  core,
  SEGMENT: segment,
};

export const sequencerSuite: ConformanceSuite<"sequencer"> = { capability: "sequencer", features: sequencerFeatures, cases: sequencerCases };

async function next(sequencer: Sequencer, key: string): Promise<bigint> {
  const id = await succeeds(sequencer.nextId({ key, metadata: {} }), `nextId '${key}'`);
  if (typeof id !== "bigint") fail(`nextId '${key}': expected an int64 as a bigint, got ${typeof id} ${String(id)}`);
  return id;
}

async function reserve(sequencer: SequencerWith<"SEGMENT">, key: string, size: number): Promise<Segment> {
  const block = await succeeds(sequencer.reserveSegment({ key, size }), `reserveSegment '${key}' of ${size}`);
  if (typeof block?.from !== "bigint" || typeof block.to !== "bigint") {
    fail(`reserveSegment '${key}' of ${size}: expected { from, to } as bigints, got ${String(block)}`);
  }
  return block;
}
