import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  DeleteBulkStateRequestSchema,
  ExecuteStateTransactionRequestSchema,
  GetBulkStateRequestSchema,
  GetConfigurationRequestSchema,
  GetNextIdRequestSchema,
  GetStateRequestSchema,
  SaveConfigurationRequestSchema,
  SaveStateRequestSchema,
  TryLockRequestSchema,
  UnlockRequestSchema,
  UnlockResponse_Status,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { createRuntimeSyncHandlerGroups } from "../../src/handlers";
import { withErrorMapping } from "../../src/errors/mapped-handlers";
import { ComponentTable } from "../../src/registry/component-table";
import { bytes, contextFor, ownCallEach, runtimeWith, text } from "./support";

/** The synchronous handler groups (what an inline function's host calls reach) answer as the API's do, from the same bodies. */
describe("synchronous handlers", () => {
  let runtime: Awaited<ReturnType<typeof runtimeWith>>;
  let sync: ReturnType<typeof createRuntimeSyncHandlerGroups>;
  const ctx = contextFor("getState");

  beforeEach(async () => {
    runtime = await runtimeWith([
      { capability: "state", type: "in-memory", name: "store" },
      { capability: "state", type: "in-memory", name: "plain", onlyFeatures: ["ETAG"] },
      { capability: "lock", type: "in-memory", name: "locks" },
      { capability: "sequencer", type: "in-memory", name: "ids" },
      { capability: "configuration", type: "in-memory", name: "config" },
    ]);
    sync = ownCallEach(withErrorMapping(createRuntimeSyncHandlerGroups(runtime.table)));
  });
  afterEach(() => runtime.close());

  it("answers state values, not promises, and reads what the API wrote and the other way round", async () => {
    const saved = sync.state!.saveState!(create(SaveStateRequestSchema, { storeName: "store", states: [{ key: "a", value: bytes("1") }] }), ctx);
    expect(saved).toEqual({});
    const viaApi = await runtime.groups.state.getState(create(GetStateRequestSchema, { storeName: "store", key: "a" }), ctx);
    expect(text(viaApi.data)).toBe("1");
    await runtime.groups.state.saveState(create(SaveStateRequestSchema, { storeName: "store", states: [{ key: "b", value: bytes("2") }] }), ctx);
    const read = sync.state!.getState!(create(GetStateRequestSchema, { storeName: "store", key: "b" }), ctx);
    expect(read).not.toBeInstanceOf(Promise);
    expect({ data: text(read.data!), etag: read.etag }).toEqual({ data: "2", etag: viaApi.etag });
  });

  it("the API's handlers answer an at-once store with the value itself, no promise; a failed check still rejects", async () => {
    await runtime.groups.state.saveState(create(SaveStateRequestSchema, { storeName: "store", states: [{ key: "now", value: bytes("n") }] }), ctx);
    const read = runtime.groups.state.getState(create(GetStateRequestSchema, { storeName: "store", key: "now" }), ctx);
    expect(read).not.toBeInstanceOf(Promise);
    expect(text((await read).data)).toBe("n");
    const id = runtime.groups.sequencer.getNextId(create(GetNextIdRequestSchema, { storeName: "ids", key: "k" }), ctx);
    expect(id).not.toBeInstanceOf(Promise);
    const unknown = runtime.groups.state.getState(create(GetStateRequestSchema, { storeName: "nope", key: "k" }), ctx);
    expect(unknown).toBeInstanceOf(Promise);
    await expect(unknown).rejects.toBeInstanceOf(ConnectError);
  });

  it("takes the same fallback paths on a store without BULK (one key at a time, in order)", () => {
    sync.state!.saveState!(create(SaveStateRequestSchema, { storeName: "plain", states: [{ key: "x", value: bytes("X") }, { key: "y", value: bytes("Y") }] }), ctx);
    const bulk = sync.state!.getBulkState!(create(GetBulkStateRequestSchema, { storeName: "plain", keys: ["x", "y", "none"] }), ctx);
    expect(bulk.items!.map((i) => [i.key, text(i.data!)])).toEqual([["x", "X"], ["y", "Y"], ["none", ""]]);
    sync.state!.deleteBulkState!(create(DeleteBulkStateRequestSchema, { storeName: "plain", states: [{ key: "x" }, { key: "y" }] }), ctx);
    expect(sync.state!.getState!(create(GetStateRequestSchema, { storeName: "plain", key: "y" }), ctx).data).toEqual(new Uint8Array(0));
  });

  it("fails with the API's codes and texts: a stale etag, an unknown store, a bad request", async () => {
    const stale = { storeName: "store", states: [{ key: "k", value: bytes("v"), etag: { value: "41" } }] };
    const viaApi = await runtime.groups.state.saveState(create(SaveStateRequestSchema, stale), ctx).catch((e: unknown) => ConnectError.from(e));
    const viaSync = thrown(() => sync.state!.saveState!(create(SaveStateRequestSchema, stale), ctx));
    expect(viaApi).toBeInstanceOf(ConnectError);
    expect([viaSync.code, viaSync.rawMessage]).toEqual([(viaApi as ConnectError).code, (viaApi as ConnectError).rawMessage]);
    expect(thrown(() => sync.state!.getState!(create(GetStateRequestSchema, { storeName: "nope", key: "k" }), ctx)).code).toBe(Code.InvalidArgument);
    const badTx = create(ExecuteStateTransactionRequestSchema, { storeName: "store", operations: [{ operationType: "merge" }] });
    expect(thrown(() => sync.state!.executeStateTransaction!(badTx, ctx)).code).toBe(Code.InvalidArgument);
  });

  it("answers locks, ids and configuration at once", () => {
    const lock = { storeName: "locks", resourceId: "r", lockOwner: "me", expire: 10 };
    expect(sync.lock!.tryLock!(create(TryLockRequestSchema, lock), ctx)).toEqual({ success: true });
    expect(sync.lock!.tryLock!(create(TryLockRequestSchema, { ...lock, lockOwner: "you" }), ctx)).toEqual({ success: false });
    expect(sync.lock!.unlock!(create(UnlockRequestSchema, lock), ctx)).toEqual({ status: UnlockResponse_Status.SUCCESS });
    expect(thrown(() => sync.lock!.tryLock!(create(TryLockRequestSchema, { ...lock, expire: 0 }), ctx)).code).toBe(Code.InvalidArgument);
    const ids = [1, 2].map(() => sync.sequencer!.getNextId!(create(GetNextIdRequestSchema, { storeName: "ids", key: "k" }), ctx).nextId);
    expect(ids).toEqual(["1", "2"]);
    sync.configuration!.saveConfiguration!(create(SaveConfigurationRequestSchema, { storeName: "config", items: [{ key: "c", content: "v" }] }), ctx);
    const items = sync.configuration!.getConfiguration!(create(GetConfigurationRequestSchema, { storeName: "config", keys: ["c"] }), ctx).items!;
    expect(items.map((i) => [i.key, i.content])).toEqual([["c", "v"]]);
  });

  it("answers FAILED_PRECONDITION for a component that has no synchronous form", () => {
    // The same in-memory store seen without its sync form, as a component under resiliency policies is.
    const table = new ComponentTable("app1");
    const entry = runtime.table.get("state", "store")!;
    table.add({ ...entry, component: Object.create(entry.component, { sync: { value: undefined } }) });
    const groups = withErrorMapping(createRuntimeSyncHandlerGroups(table));
    const error = thrown(() => groups.state!.getState!(create(GetStateRequestSchema, { storeName: "store", key: "k" }), ctx));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toMatch(/state store store \(type in-memory\) cannot answer synchronously.*execution: worker/);
  });
});

function thrown(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected a throw");
}
