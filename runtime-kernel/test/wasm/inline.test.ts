import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import * as pb from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { buildAssemblyScriptGuest, buildGoGuest, buildWatGuest, eventually, startRedis, type RedisServer } from "@ottavo/test-support";
import { demoConfig } from "../e2e/support";
import { buildTimeoutMs, guestSources, startTestRuntime, type TestRuntime, watAbiExports } from "./wasm-support";

/**
 * Functions that run inline, on the main thread: host calls answered on the spot by
 * the synchronous handlers (in-memory components), fuel metering as the CPU limit, a
 * trap failing that call only; and `execution: auto` choosing inline or a worker from
 * what the module imports and the components it is granted.
 */

/**
 * ottavo_handle by the first letter of the invocation's method (CommonInvokeRequest
 * starts 0x0a, length, method): "t" traps (unreachable), "o" loads outside the
 * memory, "g" grows the memory past its cap and traps when that fails, "l" loops
 * forever; anything else answers OK.
 */
const misbehaving = `(module
  (memory (export "memory") 1)
  ${watAbiExports}
  (func (export "ottavo_handle") (param $ptr i32) (param $len i32) (result i32)
    (local $first i32)
    (local.set $first (i32.load8_u (i32.add (local.get $ptr) (i32.const 2))))
    (if (i32.eq (local.get $first) (i32.const 0x74)) (then unreachable))
    (if (i32.eq (local.get $first) (i32.const 0x6f)) (then (drop (i32.load (i32.const 0x7ffffff0)))))
    (if (i32.eq (local.get $first) (i32.const 0x67))
      (then (if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then unreachable))))
    (if (i32.eq (local.get $first) (i32.const 0x6c)) (then (loop $forever (br $forever))))
    (i32.const 0)))`;

/** One get_state of key "book1" on the store; answers its status (the value is dropped). */
function reader(store: string): string {
  const request = [0x0a, store.length, ...Buffer.from(store), 0x12, 5, ...Buffer.from("book1")];
  return `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "${request.map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("")}")
  ${watAbiExports}
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (call $get_state (i32.const 16) (i32.const ${request.length}) (i32.const 0) (i32.const 4))))`;
}

let rt: TestRuntime;
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
  const [asTour, goTour, goStock, asStock, wild, readMemory, readRedis, layotto2] = await Promise.all([
    buildAssemblyScriptGuest(guestSources.asTour),
    buildGoGuest(guestSources.goTour.moduleDir, guestSources.goTour.pkg),
    buildGoGuest(guestSources.goStock.moduleDir, guestSources.goStock.pkg),
    buildAssemblyScriptGuest(guestSources.asStock),
    buildWatGuest("inline-misbehaving", misbehaving),
    buildWatGuest("inline-read-memory", reader("state_demo")),
    buildWatGuest("inline-read-redis", reader("state_redis")),
    buildGoGuest("examples/faas/layotto", "./function_2"),
  ]);
  const config = demoConfig({ appId: "wasm-inline" }).replace(
    "    state_demo: { type: in-memory }\n",
    // "redis" is the store Layotto's function_2 reads; here it is an in-memory one.
    `    state_demo: { type: in-memory }\n    state_redis: { type: redis, metadata: { redisHost: "127.0.0.1:${redis.port}" } }\n    redis: { type: in-memory }\n`,
  );
  rt = await startTestRuntime(
    `  functions:
    as-tour: { path: ${asTour}, execution: inline }
    go-tour: { path: ${goTour} }
    stock-memory: { path: ${asStock}, components: [state_demo] }
    go-stock-memory: { path: ${goStock}, components: [state_demo] }
    stock-worker: { path: ${asStock}, components: [state_demo], execution: worker }
    read-memory: { path: ${readMemory}, components: [state_demo, lock_demo] }
    read-redis: { path: ${readRedis}, components: [state_demo, state_redis] }
    layotto-2: { path: ${layotto2}, components: [redis] }
    wild: { path: ${wild}, cpuLimitMs: 300, maxMemoryPages: 2 }`,
    config,
  );
  // auto serves read-redis from workers while asyncify rewrites it, then on the main thread.
  await eventually(() => expect(rt.runtime.functionHost!.list().find((f) => f.name === "read-redis")?.execution).toBe("asyncify"), 120_000);
}, buildTimeoutMs);

afterAll(async () => {
  await rt?.stop();
  await redis?.stop();
});

const invoke = (id: string, method: string, data = new Uint8Array(0), query = "") =>
  rt.runtime.functionHost!.call(id, { method, verb: "POST", query, contentType: "", data, headers: [] });

const outcome = (id: string, method: string) =>
  invoke(id, method).then(
    () => ({ code: "OK", text: "" }),
    (error: unknown) => {
      const e = ConnectError.from(error);
      return { code: Code[e.code], text: e.rawMessage };
    },
  );

/** Calls host import `name` from the inline AssemblyScript tour; answers the typed response, or throws the guest's error. */
async function call<I extends DescMessage, O extends DescMessage>(name: string, input: I, init: MessageInitShape<I>, output: O): Promise<MessageShape<O>> {
  const answer = await invoke("as-tour", name, toBinary(input, create(input, init)));
  return fromBinary(output, answer.data);
}

const statusOf = (name: string) => rt.runtime.functionHost!.list().find((f) => f.name === name)!;

it("auto runs a function inline when every host call it imports can be answered at once over its components, else rewritten by asyncify or in a worker", () => {
  expect(
    Object.fromEntries(
      ["as-tour", "go-tour", "stock-memory", "go-stock-memory", "stock-worker", "read-memory", "read-redis", "layotto-2", "wild"].map((n) => [n, statusOf(n).execution]),
    ),
  ).toEqual({
    "as-tour": "inline", // execution: inline
    "go-tour": "worker", // imports publish_event, invoke_service, ...: no synchronous form, and too large for asyncify
    "stock-memory": "inline", // get_state over the in-memory store
    "go-stock-memory": "inline", // the same from Go (its runtime fuel-metered like any module)
    "stock-worker": "worker", // execution: worker
    "read-memory": "inline", // get_state; the granted state and lock stores are in memory
    "read-redis": "asyncify", // get_state, and one granted state store is Redis, which cannot answer at once: the guest suspends
    "layotto-2": "inline", // Layotto's proxy-wasm ABI: proxy_get_state over an in-memory store
    wild: "inline", // no host call at all
  });
  expect(rt.log.lines.some((l) => /function 'stock-memory' .*inline, on the main thread/.test(l))).toBe(true);
});

it("the same function answers alike inline and in a worker; the Redis reader suspends on the main thread", async () => {
  const value = new TextEncoder().encode("100");
  await rt.client.saveState({ storeName: "state_demo", states: [{ key: "book1", value }] });
  await rt.client.saveState({ storeName: "state_redis", states: [{ key: "book1", value }] });
  const answers = await Promise.all(
    ["stock-memory", "go-stock-memory", "stock-worker"].map(async (id) => new TextDecoder().decode((await invoke(id, "", new Uint8Array(0), "name=book1")).data)),
  );
  expect(answers).toEqual(Array(3).fill("There are 100 inventories for book1."));
  expect(await outcome("read-memory", "")).toEqual({ code: "OK", text: "" });
  // Layotto's function_2 (proxy_get_state), inline, by the id it reports.
  await rt.client.saveState({ storeName: "redis", states: [{ key: "book1", value }] });
  expect(new TextDecoder().decode((await rt.runtime.functionHost!.call("id_2", { method: "", verb: "POST", query: "", contentType: "", data: new TextEncoder().encode("book1"), headers: [] })).data)).toBe("100");
  expect(await outcome("read-redis", "")).toEqual({ code: "OK", text: "" });
});

describe("an inline function's host calls", () => {
  it("state: save, get, bulk get, transaction, delete, as the API sees them", async () => {
    await call("save_state", pb.SaveStateRequestSchema, { storeName: "state_demo", states: [{ key: "in-a", value: new TextEncoder().encode("1") }, { key: "in-b", value: new TextEncoder().encode("2") }] }, EmptySchema);
    const got = await call("get_state", pb.GetStateRequestSchema, { storeName: "state_demo", key: "in-a" }, pb.GetStateResponseSchema);
    const viaApi = await rt.client.getState({ storeName: "state_demo", key: "in-a" });
    expect([new TextDecoder().decode(got.data), got.etag]).toEqual(["1", viaApi.etag]);
    const bulk = await call("get_bulk_state", pb.GetBulkStateRequestSchema, { storeName: "state_demo", keys: ["in-a", "in-b", "in-none"] }, pb.GetBulkStateResponseSchema);
    expect(bulk.items.map((i) => [i.key, new TextDecoder().decode(i.data)])).toEqual([["in-a", "1"], ["in-b", "2"], ["in-none", ""]]);
    await call("execute_state_transaction", pb.ExecuteStateTransactionRequestSchema, { storeName: "state_demo", operations: [{ operationType: "upsert", request: { key: "in-c", value: new TextEncoder().encode("3") } }] }, EmptySchema);
    expect(new TextDecoder().decode((await rt.client.getState({ storeName: "state_demo", key: "in-c" })).data)).toBe("3");
    await call("delete_bulk_state", pb.DeleteBulkStateRequestSchema, { storeName: "state_demo", states: [{ key: "in-a" }, { key: "in-b" }, { key: "in-c" }] }, EmptySchema);
    for (const k of ["in-a", "in-b", "in-c"]) expect((await rt.client.getState({ storeName: "state_demo", key: k })).data).toHaveLength(0);
  });

  it("a failing rpc reaches the guest with the API's code and text (a stale etag, an unknown store)", async () => {
    for (const [rpc, request] of [
      ["save_state", { storeName: "state_demo", states: [{ key: "in-stale", value: new Uint8Array([1]), etag: { value: "7" } }] }],
      ["get_state", { storeName: "nope", key: "k" }],
    ] as const) {
      const viaApi = await (rpc === "save_state" ? rt.client.saveState(request as never) : rt.client.getState(request as never)).catch((e: unknown) => ConnectError.from(e));
      const schema = rpc === "save_state" ? pb.SaveStateRequestSchema : pb.GetStateRequestSchema;
      const viaWasm = await invoke("as-tour", rpc, toBinary(schema, create(schema, request as never))).catch((e: unknown) => ConnectError.from(e));
      expect(viaWasm).toBeInstanceOf(ConnectError);
      expect([(viaWasm as ConnectError).code, (viaWasm as ConnectError).rawMessage]).toEqual([(viaApi as ConnectError).code, (viaApi as ConnectError).rawMessage]);
    }
  });

  it("lock: try_lock, lock_keep_alive, unlock, shared with the API", async () => {
    const lock = { storeName: "lock_demo", resourceId: "in-res", lockOwner: "owner-1", expire: 30 };
    expect((await call("try_lock", pb.TryLockRequestSchema, lock, pb.TryLockResponseSchema)).success).toBe(true);
    expect((await rt.client.tryLock({ ...lock, lockOwner: "owner-2" })).success).toBe(false);
    expect((await call("try_lock", pb.TryLockRequestSchema, { ...lock, lockOwner: "owner-3" }, pb.TryLockResponseSchema)).success).toBe(false);
    const kept = await call("lock_keep_alive", pb.LockKeepAliveRequestSchema, lock, pb.LockKeepAliveResponseSchema);
    expect(kept.status).toBe(pb.LockKeepAliveResponse_Status.SUCCESS);
    expect((await call("unlock", pb.UnlockRequestSchema, lock, pb.UnlockResponseSchema)).status).toBe(pb.UnlockResponse_Status.SUCCESS);
    expect((await rt.client.tryLock({ ...lock, lockOwner: "owner-2" })).success).toBe(true);
  });

  it("sequencer and configuration answer at once too", async () => {
    const ids = { storeName: "sequencer_demo", key: "in-ids", options: { increment: pb.SequencerOptions_AutoIncrement.STRONG } };
    const first = await call("get_next_id", pb.GetNextIdRequestSchema, ids, pb.GetNextIdResponseSchema);
    expect(BigInt((await rt.client.getNextId(ids)).nextId)).toBe(BigInt(first.nextId) + 1n);
    const where = { storeName: "config_demo", appId: "wasm-inline", group: "g", label: "l" };
    await call("save_configuration", pb.SaveConfigurationRequestSchema, { ...where, items: [{ key: "in-color", content: "blue", group: "g", label: "l" }] }, EmptySchema);
    expect((await rt.client.getConfiguration({ ...where, keys: ["in-color"] })).items.map((i) => i.content)).toEqual(["blue"]);
  });

  it("a host call without a synchronous form answers FAILED_PRECONDITION, saying why, and the function goes on serving", async () => {
    const publish = toBinary(pb.PublishEventRequestSchema, create(pb.PublishEventRequestSchema, { pubsubName: "pub_subs_demo", topic: "t", data: new Uint8Array([1]) }));
    const error = await invoke("as-tour", "publish_event", publish).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((error as ConnectError).rawMessage).toMatch(/^PublishEvent has no synchronous form, and this function runs inline on the main thread.*execution: worker/);
    expect((await call("get_state", pb.GetStateRequestSchema, { storeName: "state_demo", key: "none" }, pb.GetStateResponseSchema)).data).toHaveLength(0);
  });
});

describe("an inline function's limits", () => {
  it("a trap, a load outside the memory and a grow past the cap fail that call only; each instance is replaced", async () => {
    expect(await outcome("wild", "trap")).toEqual({ code: "Internal", text: expect.stringMatching(/^the function trapped: .*unreachable/) });
    expect(await outcome("wild", "fine")).toEqual({ code: "OK", text: "" });
    expect(await outcome("wild", "oob")).toEqual({ code: "Internal", text: expect.stringMatching(/^the function trapped: .*memory access out of bounds/) });
    expect(await outcome("wild", "fine")).toEqual({ code: "OK", text: "" });
    expect(await outcome("wild", "grow")).toEqual({ code: "Internal", text: expect.stringMatching(/^the function trapped: .*unreachable/) });
    expect(await outcome("wild", "fine")).toEqual({ code: "OK", text: "" });
    expect(statusOf("wild")).toMatchObject({ restarts: 3, instances: 1, state: "UP" });
  });

  it("a loop that never ends is stopped at the CPU limit with DEADLINE_EXCEEDED, the instance replaced, and the runtime serves on", async () => {
    const before = statusOf("wild").restarts;
    expect(await outcome("wild", "loop")).toEqual({
      code: "DeadlineExceeded",
      text: "the invocation ran past its CPU-time limit of 300 ms; the instance was stopped",
    });
    await eventually(() => expect(statusOf("wild")).toMatchObject({ restarts: before + 1, instances: 1 }));
    expect(statusOf("wild").lastError).toMatch(/CPU-time limit of 300 ms/);
    expect(await outcome("wild", "fine")).toEqual({ code: "OK", text: "" });
    // The main thread ran the loop: everything else serves again once it is stopped.
    expect((await call("get_state", pb.GetStateRequestSchema, { storeName: "state_demo", key: "none" }, pb.GetStateResponseSchema)).data).toHaveLength(0);
    expect((await rt.client.sayHello({ serviceName: "quick_start_demo", name: "after" })).hello).toBe("greetings, after");
  });
});
