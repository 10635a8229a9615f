import { ComponentError } from "@ottavo/component-runtime";
import type { DeleteRequest, SetRequest } from "@ottavo/generated/components/state";
import { EtagInvalidError, EtagMismatchError } from "@ottavo/generated/components/state";
import type { InMemoryState } from "@ottavo/generated/components/adapters/in-memory";
import { InMemoryStateStore, inMemoryStateAdapter } from "../src/in-memory-state-store";
import { bytes, closer, context, manualClock, text } from "./support";

const components = closer();
afterEach(() => components.closeAll());

async function store(): Promise<InMemoryState> {
  return components.track(await inMemoryStateAdapter.create({}, context()));
}

const set = (key: string, value: string, extra: Partial<SetRequest> = {}): SetRequest => ({
  key,
  value: bytes(value),
  concurrency: "LAST_WRITE",
  consistency: "EVENTUAL",
  metadata: {},
  ...extra,
});

const del = (key: string, extra: Partial<DeleteRequest> = {}): DeleteRequest => ({
  key,
  concurrency: "LAST_WRITE",
  consistency: "EVENTUAL",
  metadata: {},
  ...extra,
});

const get = (s: InMemoryState, key: string) => s.get({ key, consistency: "EVENTUAL", metadata: {} });

async function rejection(promise: Promise<unknown>): Promise<ComponentError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ComponentError);
  return error as ComponentError;
}

describe("in-memory state", () => {
  it("declares ETAG, TRANSACTIONAL, TTL and BULK", async () => {
    expect([...(await store()).features].sort()).toEqual(["BULK", "ETAG", "TRANSACTIONAL", "TTL"]);
  });

  it("answers found = false with empty data and no etag for a missing key", async () => {
    const s = await store();
    expect(await get(s, "nothing")).toEqual({ found: false, data: new Uint8Array(0), metadata: {} });
  });

  it("gives etag 1 on the first save and increments it on each later save", async () => {
    const s = await store();
    await s.set(set("k", "a"));
    expect(await get(s, "k")).toMatchObject({ found: true, etag: "1" });
    await s.set(set("k", "b"));
    const item = await get(s, "k");
    expect(item.etag).toBe("2");
    expect(text(item.data)).toBe("b");
  });

  it("starts again at etag 1 after a delete", async () => {
    const s = await store();
    await s.set(set("k", "a"));
    await s.set(set("k", "b"));
    await s.delete(del("k"));
    await s.set(set("k", "c"));
    expect((await get(s, "k")).etag).toBe("1");
  });

  it("accepts a matching etag and rejects a stale one with ABORTED, leaving the value", async () => {
    const s = await store();
    await s.set(set("k", "a"));
    await s.set(set("k", "b", { etag: "1", concurrency: "FIRST_WRITE" }));
    const error = await rejection(s.set(set("k", "c", { etag: "1", concurrency: "FIRST_WRITE" })));
    expect(error).toBeInstanceOf(EtagMismatchError);
    expect(error.status).toBe("ABORTED");
    expect(error.message).toContain("'k'");
    const item = await get(s, "k");
    expect(text(item.data)).toBe("b");
    expect(item.etag).toBe("2");
  });

  it("rejects an etag for a key that does not exist", async () => {
    const s = await store();
    expect((await rejection(s.set(set("k", "a", { etag: "1", concurrency: "FIRST_WRITE" })))).status).toBe("ABORTED");
    expect((await get(s, "k")).found).toBe(false);
  });

  it("rejects an etag that is not a decimal version with INVALID_ARGUMENT", async () => {
    const s = await store();
    await s.set(set("k", "a"));
    for (const etag of ["abc", "-1", "1.0", "0x1"]) {
      const error = await rejection(s.set(set("k", "b", { etag, concurrency: "FIRST_WRITE" })));
      expect(error).toBeInstanceOf(EtagInvalidError);
      expect(error.status).toBe("INVALID_ARGUMENT");
    }
    expect(text((await get(s, "k")).data)).toBe("a");
  });

  it("treats first-write without an etag as insert-only", async () => {
    const s = await store();
    await s.set(set("k", "a", { concurrency: "FIRST_WRITE" }));
    const error = await rejection(s.set(set("k", "b", { concurrency: "FIRST_WRITE" })));
    expect(error.status).toBe("ABORTED");
    expect(text((await get(s, "k")).data)).toBe("a");
    await s.set(set("k", "c", { concurrency: "FIRST_WRITE", etag: "1" }));
    expect(text((await get(s, "k")).data)).toBe("c");
  });

  it("lets last-write overwrite and delete, ignoring any etag", async () => {
    const s = await store();
    await s.set(set("k", "a"));
    await s.set(set("k", "b"));
    expect(text((await get(s, "k")).data)).toBe("b");
    await s.set(set("k", "c", { etag: "7" }));
    await s.set(set("new", "n", { etag: "not-a-version" }));
    expect([text((await get(s, "k")).data), (await get(s, "k")).etag, text((await get(s, "new")).data)]).toEqual(["c", "3", "n"]);
    await s.delete(del("k", { etag: "1" }));
    expect((await get(s, "k")).found).toBe(false);
  });

  it("keeps an empty value as a value", async () => {
    const s = await store();
    await s.set(set("k", ""));
    expect(await get(s, "k")).toEqual({ found: true, data: new Uint8Array(0), etag: "1", metadata: {} });
  });

  it("copies values on write and on read", async () => {
    const s = await store();
    const value = bytes("abc");
    await s.set({ ...set("k", ""), value });
    value[0] = 0x7a;
    const first = await get(s, "k");
    first.data[1] = 0x7a;
    expect(text((await get(s, "k")).data)).toBe("abc");
  });

  it("checks the etag on delete and succeeds deleting a missing key without one", async () => {
    const s = await store();
    await s.delete(del("never-there"));
    await s.set(set("k", "a"));
    await s.set(set("k", "b"));
    expect((await rejection(s.delete(del("k", { etag: "1", concurrency: "FIRST_WRITE" })))).status).toBe("ABORTED");
    expect((await get(s, "k")).found).toBe(true);
    await s.delete(del("k", { etag: "2", concurrency: "FIRST_WRITE" }));
    expect((await get(s, "k")).found).toBe(false);
  });

  it("reads, writes and deletes in bulk, each key answering on its own", async () => {
    const s = await store();
    await s.bulkSet([set("a", "1"), set("b", "2")]);
    const items = await s.bulkGet({ keys: ["a", "missing", "b"], metadata: {} });
    expect(items.map((i) => [i.key, i.found, text(i.data), i.etag])).toEqual([
      ["a", true, "1", "1"],
      ["missing", false, "", undefined],
      ["b", true, "2", "1"],
    ]);
    await s.bulkDelete([del("a"), del("b")]);
    expect((await s.bulkGet({ keys: ["a", "b"], metadata: {} })).every((i) => !i.found)).toBe(true);
  });

  it("applies a bulk set all or nothing", async () => {
    const s = await store();
    await s.set(set("b", "old"));
    await rejection(s.bulkSet([set("a", "1"), set("b", "2", { etag: "9", concurrency: "FIRST_WRITE" })]));
    expect((await get(s, "a")).found).toBe(false);
    expect(text((await get(s, "b")).data)).toBe("old");
  });

  describe("transactions", () => {
    it("apply operations in order, later ones seeing earlier ones", async () => {
      const s = await store();
      await s.set(set("gone", "x"));
      await s.transact({
        operations: [
          { set: set("k", "a") },
          { set: set("k", "b", { etag: "1", concurrency: "FIRST_WRITE" }) },
          { delete: del("gone", { etag: "1", concurrency: "FIRST_WRITE" }) },
          { set: set("gone", "again", { concurrency: "FIRST_WRITE" }) },
        ],
        metadata: {},
      });
      expect(await get(s, "k")).toMatchObject({ found: true, etag: "2" });
      expect(text((await get(s, "k")).data)).toBe("b");
      expect(await get(s, "gone")).toMatchObject({ found: true, etag: "1" });
    });

    it("change nothing when an etag in the middle fails", async () => {
      const s = await store();
      await s.set(set("x", "x1"));
      await s.set(set("y", "y1"));
      await s.set(set("y", "y2"));
      const error = await rejection(
        s.transact({
          operations: [
            { set: set("new", "n") },
            { delete: del("x") },
            { set: set("y", "y3", { etag: "1", concurrency: "FIRST_WRITE" }) },
            { set: set("z", "z") },
          ],
          metadata: {},
        }),
      );
      expect(error.status).toBe("ABORTED");
      expect(error.message).toContain("operation 3");
      expect((await get(s, "new")).found).toBe(false);
      expect(await get(s, "x")).toMatchObject({ found: true, etag: "1" });
      expect(await get(s, "y")).toMatchObject({ found: true, etag: "2" });
      expect(text((await get(s, "y")).data)).toBe("y2");
      expect((await get(s, "z")).found).toBe(false);
    });

    it("reject an operation that is neither or both of set and delete (state.cap's union; the type checker refuses both too)", async () => {
      const s = await store();
      const neither = await rejection(s.transact({ operations: [{ set: set("a", "1") }, {} as never], metadata: {} }));
      expect([neither.status, neither.message]).toEqual(["INVALID_ARGUMENT", "transact: request.operations[1] must give exactly one of 'set' and 'delete', not none"]);
      const both = await rejection(s.transact({ operations: [{ set: set("a", "1"), delete: del("a") } as never], metadata: {} }));
      expect(both.message).toBe("transact: request.operations[0] must give exactly one of 'set' and 'delete', not 'set' and 'delete'");
      expect((await get(s, "a")).found).toBe(false);
    });
  });

  describe("TTL", () => {
    let clock: ReturnType<typeof manualClock>;
    let s: InMemoryStateStore;
    beforeEach(() => {
      clock = manualClock();
      s = components.track(new InMemoryStateStore({ now: clock.now }));
    });

    it("expires an item after ttlInSeconds; it then reads as not found", async () => {
      await s.set(set("k", "a", { ttlInSeconds: 2 }));
      clock.advance(1_999);
      const live = await get(s, "k");
      expect(live.found).toBe(true);
      expect(live.metadata.ttlExpireTime).toBe(new Date(clock.now() + 1).toISOString());
      clock.advance(1);
      expect((await get(s, "k")).found).toBe(false);
    });

    it("starts an expired key afresh at etag 1 and rejects its old etag", async () => {
      await s.set(set("k", "a", { ttlInSeconds: 1 }));
      clock.advance(1_000);
      expect((await rejection(s.set(set("k", "b", { etag: "1", concurrency: "FIRST_WRITE" })))).status).toBe("ABORTED");
      await s.set(set("k", "b", { concurrency: "FIRST_WRITE" }));
      expect((await get(s, "k")).etag).toBe("1");
    });

    it("removes an existing expiry with -1, and a save without ttl keeps the item", async () => {
      await s.set(set("a", "1", { ttlInSeconds: 1 }));
      await s.set(set("a", "2", { ttlInSeconds: -1 }));
      await s.set(set("b", "1", { ttlInSeconds: 1 }));
      await s.set(set("b", "2"));
      clock.advance(10_000);
      expect((await get(s, "a")).found).toBe(true);
      expect((await get(s, "b")).found).toBe(true);
    });

    it("rejects a ttl below -1 or not whole before the store sees it (state.cap), in a set, a bulk set and a transaction", async () => {
      const created = await store();
      const ttl = await rejection(created.set(set("k", "a", { ttlInSeconds: -5 })));
      expect([ttl.status, ttl.message]).toEqual(["INVALID_ARGUMENT", "set: request.ttlInSeconds must be at least -1, not -5"]);
      expect((await rejection(created.bulkSet([set("k", "a"), set("j", "b", { ttlInSeconds: 1.5 })]))).message).toBe(
        "bulkSet: requests[1].ttlInSeconds must be an integer, not 1.5",
      );
      const transaction = { operations: [{ delete: del("x") }, { set: set("k", "a", { ttlInSeconds: -2 }) }], metadata: {} };
      expect((await rejection(created.transact(transaction))).message).toBe("transact: request.operations[1].set.ttlInSeconds must be at least -1, not -2");
      expect((await get(created, "k")).found).toBe(false);
    });
  });
});
