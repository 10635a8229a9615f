import { MetadataError } from "@ottavo/component-runtime";
import type { InMemorySequencer } from "@ottavo/generated/components/adapters/in-memory";
import { inMemorySequencerAdapter } from "../src/in-memory-sequencer";
import { closer, context } from "./support";

const components = closer();
afterEach(() => components.closeAll());

async function sequencer(settings: Record<string, unknown> = {}): Promise<InMemorySequencer> {
  return components.track(await inMemorySequencerAdapter.create({}, context(settings)));
}

const next = (s: InMemorySequencer, key: string) => s.nextId({ key, metadata: {} });

describe("in-memory sequencer", () => {
  it("hands out 1, 2, 3 per key, as int64 (bigint)", async () => {
    const s = await sequencer();
    expect(s.features.size).toBe(0);
    expect([await next(s, "a"), await next(s, "a"), await next(s, "a")]).toEqual([1n, 2n, 3n]);
    expect(await next(s, "b")).toBe(1n);
    expect(await next(s, "a")).toBe(4n);
  });

  it("hands out unique ids to concurrent callers", async () => {
    const s = await sequencer();
    const ids = await Promise.all(Array.from({ length: 100 }, () => next(s, "k")));
    expect(new Set(ids).size).toBe(100);
  });

  it("starts above a biggerThan floor, given as number or numeric string", async () => {
    const s = await sequencer({ biggerThan: { a: 1000, b: "9007199254740993", c: 0, d: -5 } });
    expect(await next(s, "a")).toBe(1001n);
    expect(await next(s, "a")).toBe(1002n);
    expect(await next(s, "b")).toBe(9007199254740994n);
    expect(await next(s, "c")).toBe(1n);
    expect(await next(s, "d")).toBe(1n);
    expect(await next(s, "unfloored")).toBe(1n);
  });

  it("rejects a biggerThan that is not an integer, naming the key", async () => {
    const error = await sequencer({ biggerThan: { good: 1, bad: "12abc", worse: 1.5 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetadataError);
    expect((error as MetadataError).problems).toHaveLength(2);
    expect((error as MetadataError).message).toContain("biggerThan 'bad'");
    expect((error as MetadataError).message).toContain("biggerThan 'worse'");
    expect((error as MetadataError).message).toContain("test_component");
  });

  it("rejects a biggerThan that is not a map", async () => {
    await expect(sequencer({ biggerThan: [1, 2] })).rejects.toThrow(/biggerThan must be a map/);
  });
});
