import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  DeleteBulkStateRequestSchema,
  DeleteStateRequestSchema,
  ExecuteStateTransactionRequestSchema,
  GetBulkStateRequestSchema,
  GetStateRequestSchema,
  SaveStateRequestSchema,
  StateOptions_StateConcurrency,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { StateItemSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { bytes, contextFor, expectError, runtimeWith, text } from "./support";

type ItemInit = MessageInitShape<typeof StateItemSchema>;

describe("state handlers", () => {
  let runtime: Awaited<ReturnType<typeof runtimeWith>>;
  const ctx = contextFor("getState");

  beforeEach(async () => {
    runtime = await runtimeWith([
      { capability: "state", type: "in-memory", name: "state_demo" },
      { capability: "state", type: "in-memory", name: "by_app", metadata: { keyPrefix: "appid" } },
      { capability: "state", type: "in-memory", name: "by_name", metadata: { keyPrefix: "name" } },
      { capability: "state", type: "in-memory", name: "custom", metadata: { keyPrefix: "Shop" } },
      { capability: "state", type: "in-memory", name: "plain", onlyFeatures: ["ETAG"] },
    ]);
  });
  afterEach(() => runtime.close());

  const save = (storeName: string, ...states: ItemInit[]) =>
    runtime.groups.state.saveState(create(SaveStateRequestSchema, { storeName, states }), ctx);
  const get = (storeName: string, key: string) =>
    runtime.groups.state.getState(create(GetStateRequestSchema, { storeName, key }), ctx);
  /** Reads the backend directly, to see the key the handler wrote. */
  const backend = async (storeName: string, key: string) =>
    runtime.component("state", storeName).get({ key, consistency: "EVENTUAL", metadata: {} });

  describe("CRUD", () => {
    it("saves, reads with etag 1 then 2, and deletes", async () => {
      await save("state_demo", { key: "k", value: bytes("v1") });
      let read = await get("state_demo", "k");
      expect(text(read.data)).toBe("v1");
      expect(read.etag).toBe("1");
      await save("state_demo", { key: "k", value: bytes("v2") });
      read = await get("state_demo", "k");
      expect(text(read.data)).toBe("v2");
      expect(read.etag).toBe("2");

      await runtime.groups.state.deleteState(create(DeleteStateRequestSchema, { storeName: "state_demo", key: "k" }), ctx);
      read = await get("state_demo", "k");
      expect(read.data).toHaveLength(0);
      expect(read.etag).toBe("");
    });

    it("reads a missing key as empty data without an error", async () => {
      const read = await get("state_demo", "never-saved");
      expect(read.data).toHaveLength(0);
      expect(read.etag).toBe("");
    });

    it("stores an empty value as a value", async () => {
      await save("state_demo", { key: "empty", value: new Uint8Array(0) });
      const read = await get("state_demo", "empty");
      expect(read.data).toHaveLength(0);
      expect(read.etag).toBe("1");
    });

    it("saves several items in one call", async () => {
      await save("state_demo", { key: "a", value: bytes("1") }, { key: "b", value: bytes("2") });
      expect(text((await get("state_demo", "b")).data)).toBe("2");
    });
  });

  describe("key prefixes", () => {
    it("keeps keys unprefixed by default, as Layotto's state API does", async () => {
      await save("state_demo", { key: "k", value: bytes("v") });
      expect((await backend("state_demo", "k")).found).toBe(true);
    });

    it("prefixes the app id, the component name or a literal (lower-cased, as Layotto) when keyPrefix says so", async () => {
      await save("by_app", { key: "k", value: bytes("v") });
      await save("by_name", { key: "k", value: bytes("v") });
      await save("custom", { key: "k", value: bytes("v") });
      expect((await backend("by_app", "app1||k")).found).toBe(true);
      expect((await backend("by_name", "by_name||k")).found).toBe(true);
      expect((await backend("custom", "shop||k")).found).toBe(true);
      expect(text((await get("by_app", "k")).data)).toBe("v");
    });

    it("refuses keys containing ||", async () => {
      await expectError(get("state_demo", "a||b"), Code.InvalidArgument, "input key/keyPrefix 'a||b' can't contain '||'");
    });
  });

  describe("bulk", () => {
    it("reads many keys and gives the caller's keys back, unprefixed", async () => {
      await save("by_app", { key: "a", value: bytes("A") }, { key: "b", value: bytes("B") });
      const res = await runtime.groups.state.getBulkState(
        create(GetBulkStateRequestSchema, { storeName: "by_app", keys: ["a", "b", "missing"] }),
        ctx,
      );
      const items = res.items ?? [];
      expect(items.map((i) => [i.key, text(i.data), i.etag])).toEqual([
        ["a", "A", "1"],
        ["b", "B", "1"],
        ["missing", "", ""],
      ]);
    });

    it("answers an empty list for no keys", async () => {
      const res = await runtime.groups.state.getBulkState(create(GetBulkStateRequestSchema, { storeName: "state_demo" }), ctx);
      expect(res.items).toEqual([]);
    });

    it("deletes many keys", async () => {
      await save("state_demo", { key: "a", value: bytes("A") }, { key: "b", value: bytes("B") });
      await runtime.groups.state.deleteBulkState(
        create(DeleteBulkStateRequestSchema, { storeName: "state_demo", states: [{ key: "a" }, { key: "b" }] }),
        ctx,
      );
      expect((await get("state_demo", "a")).etag).toBe("");
      expect((await get("state_demo", "b")).etag).toBe("");
    });
  });

  describe("etags and options", () => {
    it("answers ABORTED with Layotto's text when the etag does not match", async () => {
      await save("state_demo", { key: "k", value: bytes("v") });
      await expectError(
        save("state_demo", { key: "k", value: bytes("w"), etag: { value: "7" } }),
        Code.Aborted,
        /^failed saving state in state store state_demo: /,
      );
      await expectError(
        runtime.groups.state.deleteState(
          create(DeleteStateRequestSchema, { storeName: "state_demo", key: "k", etag: { value: "7" } }),
          ctx,
        ),
        Code.Aborted,
        /^failed deleting state with key k: /,
      );
    });

    it("answers INVALID_ARGUMENT for an etag the store could not have issued", async () => {
      await save("state_demo", { key: "k", value: bytes("v") });
      await expectError(
        save("state_demo", { key: "k", value: bytes("w"), etag: { value: "not-a-version" } }),
        Code.InvalidArgument,
        /^failed saving state in state store state_demo: /,
      );
    });

    it("writes when the etag matches, and treats an empty etag as none", async () => {
      await save("state_demo", { key: "k", value: bytes("v") });
      await save("state_demo", { key: "k", value: bytes("w"), etag: { value: "1" } });
      await save("state_demo", { key: "k", value: bytes("x"), etag: { value: "" } });
      expect((await get("state_demo", "k")).etag).toBe("3");
    });

    it("ignores a stale or made-up etag under last-write, as Layotto's state demo expects", async () => {
      const lastWrite = { concurrency: StateOptions_StateConcurrency.CONCURRENCY_LAST_WRITE };
      await save("state_demo", { key: "k", value: bytes("v") });
      await save("state_demo", { key: "k", value: bytes("w"), etag: { value: "7" }, options: lastWrite });
      await save("state_demo", { key: "new", value: bytes("n"), etag: { value: "2" }, options: lastWrite });
      expect(text((await get("state_demo", "k")).data)).toBe("w");
      expect(text((await get("state_demo", "new")).data)).toBe("n");
      await runtime.groups.state.deleteState(
        create(DeleteStateRequestSchema, { storeName: "state_demo", key: "k", etag: { value: "9" }, options: lastWrite }),
        ctx,
      );
      expect((await get("state_demo", "k")).etag).toBe("");
    });

    it("honours first-write concurrency without an etag: only a new key may be written", async () => {
      const firstWrite = { concurrency: StateOptions_StateConcurrency.CONCURRENCY_FIRST_WRITE };
      await save("state_demo", { key: "k", value: bytes("v"), options: firstWrite });
      await expectError(save("state_demo", { key: "k", value: bytes("w"), options: firstWrite }), Code.Aborted, /.+/);
    });
  });

  describe("ttl", () => {
    it("passes ttlInSeconds to a TTL store", async () => {
      await save("state_demo", { key: "k", value: bytes("v"), metadata: { ttlInSeconds: "60" } });
      const read = await get("state_demo", "k");
      expect(read.metadata?.ttlExpireTime).toEqual(expect.any(String));
    });

    it("refuses a ttlInSeconds that is not an integer from -1 up", async () => {
      for (const bad of ["soon", "-2", "1.5", "99999999999"]) {
        await expectError(
          save("state_demo", { key: "k", value: bytes("v"), metadata: { ttlInSeconds: bad } }),
          Code.InvalidArgument,
          `incorrect value for metadata 'ttlInSeconds' of key k: want an integer from -1 to 2147483647, got '${bad}'`,
        );
      }
    });
  });

  describe("transactions", () => {
    const transact = (storeName: string, operations: { operationType: string; request?: ItemInit }[]) =>
      runtime.groups.state.executeStateTransaction(
        create(ExecuteStateTransactionRequestSchema, { storeName, operations }),
        ctx,
      );

    it("applies upserts and deletes together", async () => {
      await save("state_demo", { key: "old", value: bytes("x") });
      await transact("state_demo", [
        { operationType: "upsert", request: { key: "new", value: bytes("n") } },
        { operationType: "delete", request: { key: "old" } },
      ]);
      expect(text((await get("state_demo", "new")).data)).toBe("n");
      expect((await get("state_demo", "old")).etag).toBe("");
    });

    it("applies nothing when one operation fails its etag check", async () => {
      await save("state_demo", { key: "k", value: bytes("v") });
      await expectError(
        transact("state_demo", [
          { operationType: "upsert", request: { key: "other", value: bytes("o") } },
          { operationType: "upsert", request: { key: "k", value: bytes("w"), etag: { value: "5" } } },
        ]),
        Code.Aborted,
        /^error while executing state transaction: /,
      );
      expect((await get("state_demo", "other")).etag).toBe("");
    });

    it("refuses unknown operation types and operations without a request", async () => {
      await expectError(
        transact("state_demo", [{ operationType: "merge", request: { key: "k" } }]),
        Code.InvalidArgument,
        "operation type merge not supported",
      );
      await expectError(
        transact("state_demo", [{ operationType: "delete" }]),
        Code.InvalidArgument,
        "transaction operation 1 (delete) has no request",
      );
    });
  });

  describe("a store without BULK, TRANSACTIONAL and TTL", () => {
    it("reads many keys one by one, in request order, with bounded parallelism", async () => {
      await save("plain", { key: "a", value: bytes("A") }, { key: "b", value: bytes("B") }, { key: "c", value: bytes("C") });
      for (const parallelism of [0, 1, 2, 10]) {
        const res = await runtime.groups.state.getBulkState(
          create(GetBulkStateRequestSchema, { storeName: "plain", keys: ["c", "missing", "a", "b"], parallelism }),
          ctx,
        );
        expect((res.items ?? []).map((i) => [i.key, text(i.data), i.error ?? ""])).toEqual([
          ["c", "C", ""],
          ["missing", "", ""],
          ["a", "A", ""],
          ["b", "B", ""],
        ]);
      }
    });

    it("deletes many keys one by one and names the key that failed", async () => {
      await save("plain", { key: "a", value: bytes("A") }, { key: "b", value: bytes("B") });
      await expectError(
        runtime.groups.state.deleteBulkState(
          create(DeleteBulkStateRequestSchema, {
            storeName: "plain",
            states: [{ key: "a" }, { key: "b", etag: { value: "9" } }],
          }),
          ctx,
        ),
        Code.Aborted,
        /^failed deleting state with key b: /,
      );
      expect((await get("plain", "a")).etag).toBe("");
      expect((await get("plain", "b")).etag).toBe("1");
    });

    it("answers UNIMPLEMENTED for a transaction", async () => {
      await expectError(
        runtime.groups.state.executeStateTransaction(
          create(ExecuteStateTransactionRequestSchema, {
            storeName: "plain",
            operations: [{ operationType: "upsert", request: { key: "k" } }],
          }),
          ctx,
        ),
        Code.Unimplemented,
        "state store plain doesn't support transaction",
      );
    });

    it("ignores ttlInSeconds, as Dapr documents for stores without TTL", async () => {
      await save("plain", { key: "k", value: bytes("v"), metadata: { ttlInSeconds: "60" } });
      const read = await get("plain", "k");
      expect(text(read.data)).toBe("v");
      expect(read.metadata?.ttlExpireTime).toBeUndefined();
    });
  });

  describe("lookup and validation errors", () => {
    it("answers INVALID_ARGUMENT for an unknown store", async () => {
      await expectError(get("nope", "k"), Code.InvalidArgument, "state store nope is not found");
      await expectError(save("nope", { key: "k" }), Code.InvalidArgument, "state store nope is not found");
    });

    it("answers INVALID_ARGUMENT for an empty key", async () => {
      await expectError(get("state_demo", ""), Code.InvalidArgument, "key is empty in state store state_demo");
      await expectError(save("state_demo", { key: "" }), Code.InvalidArgument, "key is empty in state store state_demo");
    });

    it("answers FAILED_PRECONDITION when no state store is configured", async () => {
      const bare = await runtimeWith([]);
      await expectError(
        bare.groups.state.getState(create(GetStateRequestSchema, { storeName: "state_demo", key: "k" }), ctx),
        Code.FailedPrecondition,
        "state store is not configured",
      );
      await expectError(
        bare.groups.state.executeStateTransaction(create(ExecuteStateTransactionRequestSchema, { storeName: "x" }), ctx),
        Code.FailedPrecondition,
        "state store is not configured",
      );
    });
  });
});

describe("etag \"0\", which the Layotto JS SDK sends when the caller gives none", () => {
  it("means no etag for save and delete", async () => {
    const runtime = await runtimeWith([{ capability: "state", type: "in-memory", name: "zero", metadata: {} }]);
    const item = (value: string) => ({ key: "k", value: new TextEncoder().encode(value), etag: { value: "0" } });
    await runtime.groups.state.saveState(create(SaveStateRequestSchema, { storeName: "zero", states: [item("a")] }), contextFor("saveState"));
    await runtime.groups.state.saveState(create(SaveStateRequestSchema, { storeName: "zero", states: [item("b")] }), contextFor("saveState"));
    const read = await runtime.groups.state.getState(create(GetStateRequestSchema, { storeName: "zero", key: "k" }), contextFor("getState"));
    expect([new TextDecoder().decode(read.data as Uint8Array), read.etag]).toEqual(["b", "2"]);
    await runtime.groups.state.deleteState(create(DeleteStateRequestSchema, { storeName: "zero", key: "k", etag: { value: "0" } }), contextFor("deleteState"));
    const gone = await runtime.groups.state.getState(create(GetStateRequestSchema, { storeName: "zero", key: "k" }), contextFor("getState"));
    expect(gone.etag).toBe("");
    await runtime.close();
  });
});
