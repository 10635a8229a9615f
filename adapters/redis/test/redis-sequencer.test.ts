import { ComponentError } from "@ottavo/component-runtime";
import type { RedisSequencer } from "@ottavo/generated/components/adapters/redis";
import { MetadataError } from "@ottavo/component-runtime";
import { redisSequencerAdapter } from "../src/redis-sequencer";
import { closer, context, useRedis } from "./support";

const redis = useRedis();
const components = closer();
afterEach(() => components.closeAll());

async function sequencer(settings: Record<string, unknown> = {}): Promise<RedisSequencer> {
  return components.track(await redisSequencerAdapter.create(redis.metadata(), context(settings)));
}

const next = (s: RedisSequencer, key: string) => s.nextId({ key, metadata: {} });

describe("redis sequencer", () => {
  it("hands out 1, 2, 3 per key, strictly increasing across components on the same Redis", async () => {
    const [a, b] = [await sequencer(), await sequencer()];
    expect(await next(a, "k")).toBe(1n);
    expect(await next(b, "k")).toBe(2n);
    expect(await next(a, "other")).toBe(1n);
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => next(i % 2 === 0 ? a : b, "k")));
    expect(new Set(ids).size).toBe(50);
    expect(ids.every((id) => id > 2n && id <= 52n)).toBe(true);
    expect(await next(a, "k")).toBe(53n);
  });

  it("reserves segments with INCRBY, contiguous with nextId", async () => {
    const s = await sequencer();
    expect(await next(s, "k")).toBe(1n);
    expect(await s.reserveSegment({ key: "k", size: 100 })).toEqual({ from: 2n, to: 101n });
    expect(await s.reserveSegment({ key: "k", size: 1 })).toEqual({ from: 102n, to: 102n });
    expect(await next(s, "k")).toBe(103n);
    const error = await s.reserveSegment({ key: "k", size: 0 }).catch((e: unknown) => e);
    expect((error as ComponentError).status).toBe("INVALID_ARGUMENT");
  });

  it("starts above biggerThan floors, never lowers a sequence already above, and ignores floors of 0 or less", async () => {
    await redis.raw().set("ahead", "5000");
    const s = await sequencer({ biggerThan: { fresh: 1000, ahead: "2000", behind: 300, zero: 0, negative: -5 } });
    expect(await redis.raw().get("behind")).toBe("300");
    // Lowered by hand below its floor: the next runtime to start raises it again.
    await redis.raw().set("behind", "7");
    await sequencer({ biggerThan: { behind: 300 } });
    expect(await next(s, "fresh")).toBe(1001n);
    expect(await next(s, "ahead")).toBe(5001n);
    expect(await next(s, "behind")).toBe(301n);
    expect(await next(s, "zero")).toBe(1n);
    expect(await next(s, "negative")).toBe(1n);
  });

  it("keeps int64 precision beyond 2^53, for floors and ids", async () => {
    const s = await sequencer({ biggerThan: { big: "9007199254740993" } });
    expect(await next(s, "big")).toBe(9007199254740994n);
    await redis.raw().set("near-max", "9223372036854775806");
    expect(await next(s, "near-max")).toBe(9223372036854775807n);
    const error = await next(s, "near-max").catch((e: unknown) => e);
    expect((error as ComponentError).status).toBe("RESOURCE_EXHAUSTED");
  });

  it("compares floors as int64, not as doubles", async () => {
    // Both round to the same double; only an exact comparison sees the current value is below.
    await redis.raw().set("close", "9007199254740992");
    const s = await sequencer({ biggerThan: { close: "9007199254740993" } });
    expect(await next(s, "close")).toBe(9007199254740994n);
  });

  it("refuses bad biggerThan entries, and a key that does not hold an integer, at create", async () => {
    const bad = await sequencer({ biggerThan: { good: 1, bad: "12abc" } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(MetadataError);
    expect((bad as Error).message).toContain("biggerThan 'bad'");
    await redis.raw().set("word", "hello");
    await expect(sequencer({ biggerThan: { word: 10 } })).rejects.toThrow(/word does not hold an integer/);
  });

  it("declares SEGMENT", async () => {
    expect([...(await sequencer()).features]).toEqual(["SEGMENT"]);
  });
});
