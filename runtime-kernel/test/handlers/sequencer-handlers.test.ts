import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { Segment } from "@ottavo/generated/components/sequencer";
import {
  GetNextIdRequestSchema,
  SequencerOptions_AutoIncrement,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { SegmentCache } from "../../src/handlers/segment-cache";
import { contextFor, expectError, runtimeWith } from "./support";

describe("sequencer handlers", () => {
  let runtime: Awaited<ReturnType<typeof runtimeWith>>;
  const ctx = contextFor("getNextId");

  beforeEach(async () => {
    runtime = await runtimeWith([
      { capability: "sequencer", type: "in-memory", name: "seq" },
      { capability: "sequencer", type: "in-memory", name: "by_name", metadata: { keyPrefix: "name" } },
    ]);
  });
  afterEach(() => runtime.close());

  const nextId = (storeName: string, key: string, increment?: SequencerOptions_AutoIncrement) =>
    runtime.groups.sequencer.getNextId(
      create(GetNextIdRequestSchema, { storeName, key, options: increment === undefined ? undefined : { increment } }),
      ctx,
    );

  it("hands out 1, 2, 3 per key as decimal strings (next_id is an int64 with jstype JS_STRING)", async () => {
    expect(await nextId("seq", "order")).toEqual({ nextId: "1" });
    expect(await nextId("seq", "order", SequencerOptions_AutoIncrement.WEAK)).toEqual({ nextId: "2" });
    expect(await nextId("seq", "order", SequencerOptions_AutoIncrement.STRONG)).toEqual({ nextId: "3" });
    expect(await nextId("seq", "user", SequencerOptions_AutoIncrement.STRONG)).toEqual({ nextId: "1" });
  });

  it("asks the store every time for WEAK too when the store cannot reserve blocks", async () => {
    await nextId("seq", "order", SequencerOptions_AutoIncrement.WEAK);
    // Without SEGMENT, nothing is cached: the backend's counter moved exactly once.
    expect(await runtime.component("sequencer", "seq").nextId({ key: "sequencer|||app1||order", metadata: {} })).toBe(2n);
  });

  it("scopes keys as sequencer|||<appid>||<key>, or by the keyPrefix metadata", async () => {
    await nextId("by_name", "order");
    expect(await runtime.component("sequencer", "by_name").nextId({ key: "sequencer|||by_name||order", metadata: {} })).toBe(2n);
  });

  describe("errors, in Layotto's order and words", () => {
    it("answers INVALID_ARGUMENT for an empty key", async () => {
      await expectError(nextId("seq", ""), Code.InvalidArgument, "Key is empty in sequencer store seq");
    });

    it("answers INVALID_ARGUMENT for an increment it does not know", async () => {
      await expectError(
        nextId("seq", "k", 7 as SequencerOptions_AutoIncrement),
        Code.InvalidArgument,
        "options.increment 7 is illegal: use WEAK (0) or STRONG (1)",
      );
    });

    it("answers INVALID_ARGUMENT for a key containing ||", async () => {
      await expectError(nextId("seq", "a||b"), Code.InvalidArgument, "input key/keyPrefix 'a||b' can't contain '||'");
    });

    it("answers INVALID_ARGUMENT for an unknown store", async () => {
      await expectError(nextId("nope", "k"), Code.InvalidArgument, "Sequencer store nope not found");
    });

    it("answers FAILED_PRECONDITION when no sequencer is configured", async () => {
      const bare = await runtimeWith([]);
      await expectError(
        bare.groups.sequencer.getNextId(create(GetNextIdRequestSchema, { storeName: "seq", key: "" }), ctx),
        Code.FailedPrecondition,
        "Sequencer store is not configured",
      );
    });
  });
});

describe("SegmentCache (WEAK ids from reserved blocks)", () => {
  /** A reservation counter over a sequence, standing in for a SEGMENT store's reserveSegment. */
  function blocks(start = 1n) {
    let next = start;
    const calls: number[] = [];
    let failNext = false;
    let gate: Promise<void> | undefined;
    return {
      calls,
      failOnce() {
        failNext = true;
      },
      hold(until: Promise<void>) {
        gate = until;
      },
      async reserve(size: number): Promise<Segment> {
        calls.push(size);
        if (gate !== undefined) await gate;
        if (failNext) {
          failNext = false;
          throw new Error("backend down");
        }
        const from = next;
        next += BigInt(size);
        return { from, to: next - 1n };
      },
    };
  }

  it("serves a whole block from one reservation, and reserves the next one ahead of time", async () => {
    const store = blocks();
    const cache = new SegmentCache((size) => store.reserve(size), 10, 3);
    const ids: bigint[] = [];
    for (let i = 0; i < 6; i++) ids.push(await cache.nextId());
    expect(ids).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    expect(store.calls).toEqual([10]);
    ids.length = 0;
    for (let i = 0; i < 7; i++) ids.push(await cache.nextId());
    expect(ids).toEqual([7n, 8n, 9n, 10n, 11n, 12n, 13n]);
    expect(store.calls).toEqual([10, 10]); // the second block was reserved while ids 8..10 remained
  });

  it("shares one reservation between concurrent callers", async () => {
    const store = blocks();
    let open!: () => void;
    store.hold(new Promise<void>((resolve) => (open = resolve)));
    const cache = new SegmentCache((size) => store.reserve(size), 100, 10);
    const pending = Promise.all(Array.from({ length: 5 }, () => cache.nextId()));
    open();
    const ids = await pending;
    expect([...ids].sort((a, b) => Number(a - b))).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(store.calls).toEqual([100]);
  });

  it("reports a failed reservation to the waiting caller and retries for the next one", async () => {
    const store = blocks();
    const cache = new SegmentCache((size) => store.reserve(size), 5, 1);
    store.failOnce();
    await expect(cache.nextId()).rejects.toThrow("backend down");
    expect(await cache.nextId()).toBe(1n);
  });

  it("never hands out an id twice when the store answers a block that overlaps", async () => {
    let call = 0;
    const cache = new SegmentCache(async () => (call++ === 0 ? { from: 1n, to: 3n } : { from: 2n, to: 6n }), 3, 0);
    const ids: bigint[] = [];
    for (let i = 0; i < 6; i++) ids.push(await cache.nextId());
    expect(ids).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });
});
