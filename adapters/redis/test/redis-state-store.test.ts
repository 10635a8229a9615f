import { ComponentError } from "@ottavo/component-runtime";
import type { RedisState } from "@ottavo/generated/components/adapters/redis";
import {
  EtagInvalidError,
  EtagMismatchError,
  type Concurrency,
  type DeleteRequest,
  type SetRequest,
} from "@ottavo/generated/components/state";
import { redisStateAdapter } from "../src/redis-state-store";
import { bytes, closer, context, eventually, text, useRedis } from "./support";

const redis = useRedis();
const components = closer();
afterEach(() => components.closeAll());

async function store(metadata: Record<string, unknown> = {}): Promise<RedisState> {
  return components.track(await redisStateAdapter.create(redis.metadata(metadata), context()));
}

const setReq = (
  key: string,
  value: string | Uint8Array,
  options: { etag?: string; concurrency?: Concurrency; ttlInSeconds?: number } = {},
): SetRequest => ({
  key,
  value: typeof value === "string" ? bytes(value) : value,
  etag: options.etag,
  concurrency: options.concurrency ?? "LAST_WRITE",
  consistency: "EVENTUAL",
  ttlInSeconds: options.ttlInSeconds,
  metadata: {},
});

const delReq = (key: string, options: { etag?: string; concurrency?: Concurrency } = {}): DeleteRequest => ({
  key,
  etag: options.etag,
  concurrency: options.concurrency ?? "LAST_WRITE",
  consistency: "EVENTUAL",
  metadata: {},
});

const get = (s: RedisState, key: string) => s.get({ key, consistency: "EVENTUAL", metadata: {} });

describe("redis state", () => {
  it("keeps Dapr's layout: a hash with data and version; etags count from 1", async () => {
    const s = await store();
    await s.set(setReq("k", "v1"));
    expect(await redis.raw().hgetall("k")).toEqual({ data: "v1", version: "1" });
    await s.set(setReq("k", "v2"));
    const read = await get(s, "k");
    expect([read.found, text(read.data), read.etag]).toEqual([true, "v2", "2"]);
  });

  it("answers found false for a missing key, and a key set with redis-cli SET as a value without etag", async () => {
    const s = await store();
    expect(await get(s, "missing")).toEqual({ found: false, data: new Uint8Array(0), metadata: {} });
    await redis.raw().set("book1", "100");
    const read = await get(s, "book1");
    expect([read.found, text(read.data), read.etag]).toEqual([true, "100", undefined]);
    // A last-write replaces it with an item; an etag never matches a value without one.
    await expect(s.set(setReq("book1", "x", { etag: "1", concurrency: "FIRST_WRITE" }))).rejects.toBeInstanceOf(EtagMismatchError);
    await s.set(setReq("book1", "101"));
    expect((await get(s, "book1")).etag).toBe("1");
  });

  it("round-trips binary and empty values", async () => {
    const s = await store();
    const binary = new Uint8Array([0, 255, 1, 128, 10, 13]);
    await s.set(setReq("bin", binary));
    await s.set(setReq("empty", ""));
    expect((await get(s, "bin")).data).toEqual(binary);
    const empty = await get(s, "empty");
    expect([empty.found, empty.data.length, empty.etag]).toEqual([true, 0, "1"]);
  });

  it("reads a value of several socket reads whole, in memory of its own (not the parser's pool)", async () => {
    const s = await store();
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    await s.set(setReq("big", big));
    const read = await get(s, "big");
    expect(Buffer.compare(read.data, big)).toBe(0);
    expect(read.data.buffer.byteLength).toBe(big.byteLength);
  });

  it("fails a read of a key of another type, naming Redis's WRONGTYPE", async () => {
    const s = await store();
    await redis.raw().lpush("a-list", "x");
    await expect(get(s, "a-list")).rejects.toThrow(/WRONGTYPE key a-list holds a list/);
  });

  it("sends its scripts in full again once Redis forgot them (SCRIPT FLUSH, as after a restart)", async () => {
    const s = await store();
    await s.set(setReq("k", "v1"));
    expect((await get(s, "k")).etag).toBe("1");
    await redis.raw().script("FLUSH");
    expect(text((await get(s, "k")).data)).toBe("v1");
    await redis.raw().script("FLUSH");
    await s.set(setReq("k", "v2"));
    const read = await get(s, "k");
    expect([text(read.data), read.etag]).toEqual(["v2", "2"]);
  });

  it("writes and deletes with the current etag, and rejects a stale one leaving the value unchanged", async () => {
    const s = await store();
    await s.set(setReq("k", "v1"));
    await s.set(setReq("k", "v2", { etag: "1", concurrency: "FIRST_WRITE" }));
    const stale = await s.set(setReq("k", "v3", { etag: "1", concurrency: "FIRST_WRITE" })).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(EtagMismatchError);
    expect((stale as ComponentError).status).toBe("ABORTED");
    expect((stale as Error).message).toContain('the current etag is "2"');
    expect(text((await get(s, "k")).data)).toBe("v2");

    await expect(s.delete(delReq("k", { etag: "1", concurrency: "FIRST_WRITE" }))).rejects.toBeInstanceOf(EtagMismatchError);
    expect((await get(s, "k")).found).toBe(true);
    await s.delete(delReq("k", { etag: "2", concurrency: "FIRST_WRITE" }));
    expect((await get(s, "k")).found).toBe(false);
    // Deleting a missing key succeeds; with an etag it cannot match.
    await s.delete(delReq("k"));
    await expect(s.delete(delReq("k", { etag: "2", concurrency: "FIRST_WRITE" }))).rejects.toBeInstanceOf(EtagMismatchError);
    await expect(s.set(setReq("new", "v", { etag: "1", concurrency: "FIRST_WRITE" }))).rejects.toBeInstanceOf(EtagMismatchError);
    expect((await get(s, "new")).found).toBe(false);
  });

  it("rejects an etag it could not have issued as EtagInvalid, before touching Redis", async () => {
    const s = await store();
    await s.set(setReq("k", "v"));
    for (const etag of ["abc", "-1", "1.0", "01"]) {
      const error = await s.set(setReq("k", "x", { etag, concurrency: "FIRST_WRITE" })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtagInvalidError);
      expect((error as ComponentError).status).toBe("INVALID_ARGUMENT");
    }
    expect(text((await get(s, "k")).data)).toBe("v");
  });

  it("first-write without etag only inserts; with an etag it must match", async () => {
    const s = await store();
    await s.set(setReq("k", "first", { concurrency: "FIRST_WRITE" }));
    const again = await s.set(setReq("k", "second", { concurrency: "FIRST_WRITE" })).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(EtagMismatchError);
    expect(text((await get(s, "k")).data)).toBe("first");
    await s.set(setReq("k", "second", { concurrency: "FIRST_WRITE", etag: "1" }));
    await expect(s.set(setReq("k", "third", { concurrency: "FIRST_WRITE", etag: "1" }))).rejects.toBeInstanceOf(
      EtagMismatchError,
    );
    await expect(s.delete(delReq("k", { concurrency: "FIRST_WRITE" }))).rejects.toBeInstanceOf(EtagMismatchError);
    expect(text((await get(s, "k")).data)).toBe("second");
  });

  it("lets exactly one of many concurrent first-writes win", async () => {
    const s = await store();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => s.set(setReq("race", `w${i}`, { concurrency: "FIRST_WRITE" }))),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect((await get(s, "race")).etag).toBe("1");
  });

  it("expires items after ttlInSeconds, reports ttlExpireTime, and -1 removes an expiry", async () => {
    const s = await store();
    await s.set(setReq("short", "v", { ttlInSeconds: 1 }));
    await s.set(setReq("kept", "v", { ttlInSeconds: 1 }));
    await s.set(setReq("kept", "v2", { ttlInSeconds: -1 }));
    const read = await get(s, "short");
    expect(Date.parse(read.metadata.ttlExpireTime) - Date.now()).toBeGreaterThan(0);
    expect(Date.parse(read.metadata.ttlExpireTime) - Date.now()).toBeLessThanOrEqual(1_000);
    expect(await redis.raw().ttl("kept")).toBe(-1);
    await eventually(async () => !(await get(s, "short")).found, 3_000);
    expect(text((await get(s, "kept")).data)).toBe("v2");
    // After expiry the key starts over at etag "1".
    await s.set(setReq("short", "again"));
    expect((await get(s, "short")).etag).toBe("1");
  });

  it("a write without ttlInSeconds removes an earlier expiry, unless metadata gives a default", async () => {
    const s = await store();
    await s.set(setReq("k", "v", { ttlInSeconds: 100 }));
    await s.set(setReq("k", "v2"));
    expect(await redis.raw().ttl("k")).toBe(-1);

    const withDefault = await store({ ttlInSeconds: "50" });
    await withDefault.set(setReq("d", "v"));
    expect(await redis.raw().ttl("d")).toBeGreaterThan(40);
    await withDefault.set(setReq("d", "v", { ttlInSeconds: -1 }));
    expect(await redis.raw().ttl("d")).toBe(-1);
  });

  it("rejects a ttlInSeconds below -1 as INVALID_ARGUMENT", async () => {
    const s = await store();
    const error = await s.set(setReq("k", "v", { ttlInSeconds: -5 })).catch((e: unknown) => e);
    expect((error as ComponentError).status).toBe("INVALID_ARGUMENT");
  });

  it("reads, writes and deletes in bulk", async () => {
    const s = await store();
    await s.bulkSet([setReq("a", "1"), setReq("b", "2"), setReq("c", "3")]);
    await redis.raw().lpush("a-list", "x");
    const items = await s.bulkGet({ keys: ["a", "missing", "c", "a-list"], metadata: {} });
    expect(items.map((i) => [i.key, i.found, text(i.data), i.etag])).toEqual([
      ["a", true, "1", "1"],
      ["missing", false, "", undefined],
      ["c", true, "3", "1"],
      ["a-list", false, "", undefined],
    ]);
    // A key of another type fails on its own, not the whole read.
    expect(items[3].error).toMatch(/WRONGTYPE/);
    await s.bulkDelete([delReq("a"), delReq("b", { etag: "1", concurrency: "FIRST_WRITE" })]);
    expect((await s.bulkGet({ keys: ["a", "b", "c"], metadata: {} })).map((i) => i.found)).toEqual([false, false, true]);
    expect(await s.bulkGet({ keys: [], metadata: {} })).toEqual([]);
  });

  it("applies a bulk write all or nothing", async () => {
    const s = await store();
    await s.set(setReq("x", "old"));
    const error = await s
      .bulkSet([setReq("y", "new"), setReq("x", "new", { etag: "9", concurrency: "FIRST_WRITE" })])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtagMismatchError);
    expect((error as ComponentError).message).toMatch(/^bulk set: /);
    expect((await get(s, "y")).found).toBe(false);
    expect(text((await get(s, "x")).data)).toBe("old");
  });

  it("applies a transaction in order, each etag checked against the earlier operations", async () => {
    const s = await store();
    await s.set(setReq("a", "a1"));
    await s.transact({
      operations: [
        { set: setReq("a", "a2", { etag: "1", concurrency: "FIRST_WRITE" }) },
        { set: setReq("a", "a3", { etag: "2", concurrency: "FIRST_WRITE" }) },
        { set: setReq("b", "b1", { concurrency: "FIRST_WRITE" }) },
        { delete: delReq("b", { etag: "1", concurrency: "FIRST_WRITE" }) },
        { set: setReq("c", "c1", { ttlInSeconds: 100 }) },
      ],
      metadata: {},
    });
    const a = await get(s, "a");
    expect([text(a.data), a.etag]).toEqual(["a3", "3"]);
    expect((await get(s, "b")).found).toBe(false);
    expect(await redis.raw().ttl("c")).toBeGreaterThan(90);
  });

  it("applies nothing of a transaction when an etag in the middle is stale", async () => {
    const s = await store();
    await s.set(setReq("a", "a1"));
    await s.set(setReq("b", "b1"));
    await s.set(setReq("b", "b2"));
    await s.set(setReq("c", "c1"));
    const error = await s
      .transact({
        operations: [
          { set: setReq("a", "changed") },
          { delete: delReq("c") },
          { set: setReq("b", "changed", { etag: "1", concurrency: "FIRST_WRITE" }) },
          { set: setReq("d", "new") },
        ],
        metadata: {},
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtagMismatchError);
    expect((error as ComponentError).message).toMatch(/^transaction operation 3: etag "1" of key 'b' is stale/);
    expect(await redis.raw().hgetall("a")).toEqual({ data: "a1", version: "1" });
    expect(await redis.raw().hgetall("b")).toEqual({ data: "b2", version: "2" });
    expect(await redis.raw().hgetall("c")).toEqual({ data: "c1", version: "1" });
    expect(await redis.raw().exists("d")).toBe(0);
  });

  it("refuses a transaction operation with neither or both of set and delete", async () => {
    const s = await store();
    const error = await s.transact({ operations: [{} as never], metadata: {} }).catch((e: unknown) => e);
    expect((error as ComponentError).status).toBe("INVALID_ARGUMENT");
  });

  it("declares exactly its features and answers health", async () => {
    const s = await store();
    expect([...s.features].sort()).toEqual(["BULK", "ETAG", "TRANSACTIONAL", "TTL"]);
    await expect(s.health!()).resolves.toBeUndefined();
  });
});
