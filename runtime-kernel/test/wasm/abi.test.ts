import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import * as pb from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { runtimeWasmImports } from "@ottavo/generated/wasm/runtime-abi";
import { buildAssemblyScriptGuest, buildGoGuest, eventually, startRedis, type RedisServer } from "@ottavo/test-support";
import { demoConfig } from "../e2e/support";
import { buildTimeoutMs, guestSources, startTestRuntime, type TestRuntime } from "./wasm-support";

/**
 * Every host import of the generated ABI, called from a guest in each language and
 * each place a function runs: the abi-tour functions decode the request with their
 * generated messages, make the typed call and re-encode the answer, which the test
 * compares with what the gRPC API says about the same state. The state store is
 * Redis, so state calls wait for the network: the Go tour waits in a worker thread
 * (too large for asyncify), the AssemblyScript tour once suspended on the main thread
 * (auto: asyncify) and once in a worker.
 */
let rt: TestRuntime;
let redis: RedisServer;
const guests: Record<string, string> = {};

beforeAll(async () => {
  redis = await startRedis();
  const [goTour, asTour, goStock, asStock] = await Promise.all([
    buildGoGuest(guestSources.goTour.moduleDir, guestSources.goTour.pkg),
    buildAssemblyScriptGuest(guestSources.asTour),
    buildGoGuest(guestSources.goStock.moduleDir, guestSources.goStock.pkg),
    buildAssemblyScriptGuest(guestSources.asStock),
  ]);
  Object.assign(guests, { goTour, asTour, goStock, asStock });
  const config = demoConfig({ appId: "wasm-test" }).replace("    state_demo: { type: in-memory }\n", `    state_demo: { type: redis, metadata: { redisHost: "127.0.0.1:${redis.port}" } }\n`);
  rt = await startTestRuntime(
    `  functions:
    go-tour: { path: ${goTour} }
    as-tour: { path: ${asTour} }
    asw-tour: { path: ${asTour}, execution: worker }
    go-stock: { path: ${goStock} }
    as-stock: { path: ${asStock} }
    asw-stock: { path: ${asStock}, execution: worker }`,
    config,
  );
  // auto serves from workers while asyncify rewrites a module, then moves the function to the main thread.
  await eventually(() => expect(rt.runtime.functionHost!.list().filter((f) => f.execution === "asyncify")).toHaveLength(2), 120_000);
}, buildTimeoutMs);

afterAll(async () => {
  await rt?.stop();
  await redis?.stop();
});

it("auto: the AssemblyScript functions suspend on the main thread (asyncify, once rewritten), the Go ones (too large to rewrite) wait in workers", () => {
  const where = Object.fromEntries(rt.runtime.functionHost!.list().map((f) => [f.name, f.execution]));
  expect(where).toEqual({ "go-tour": "worker", "as-tour": "asyncify", "asw-tour": "worker", "go-stock": "worker", "as-stock": "asyncify", "asw-stock": "worker" });
  expect(rt.log.lines.some((l) => /function 'go-tour' runs in worker threads: its host calls wait, and the module \(\d+ bytes\) is larger than/.test(l))).toBe(true);
  expect(rt.log.lines.filter((l) => /function 'as-(tour|stock)' moved to the main thread/.test(l))).toHaveLength(2);
});

describe.each([
  ["Go in a worker", "go"],
  ["AssemblyScript suspended on the main thread", "as"],
  ["AssemblyScript in a worker", "asw"],
])("the generated ABI from %s", (_language, prefix) => {
  const exercised = new Set<string>();

  /** Calls host import `name` from the guest with a typed request; answers the typed response, or throws the guest's error. */
  async function call<I extends DescMessage, O extends DescMessage>(name: string, input: I, init: MessageInitShape<I>, output: O): Promise<MessageShape<O>> {
    exercised.add(name);
    const answer = await rt.runtime.functionHost!.call(`${prefix}-tour`, {
      method: name,
      verb: "POST",
      query: "",
      contentType: "",
      data: toBinary(input, create(input, init)),
      headers: [],
    });
    return fromBinary(output, answer.data);
  }

  const key = (k: string) => `${prefix}-${k}`;

  it("say_hello answers what SayHello answers", async () => {
    const request = { serviceName: "quick_start_demo", name: "wasm" };
    const viaWasm = await call("say_hello", pb.SayHelloRequestSchema, request, pb.SayHelloResponseSchema);
    expect(viaWasm.hello).toBe((await rt.client.sayHello(request)).hello);
    expect(viaWasm.hello).toBe("greetings, wasm");
  });

  it("state: save, get, bulk get, delete, bulk delete, transaction", async () => {
    await call("save_state", pb.SaveStateRequestSchema, { storeName: "state_demo", states: [{ key: key("a"), value: new TextEncoder().encode("1") }, { key: key("b"), value: new TextEncoder().encode("2") }] }, EmptySchema);
    const got = await call("get_state", pb.GetStateRequestSchema, { storeName: "state_demo", key: key("a") }, pb.GetStateResponseSchema);
    const viaApi = await rt.client.getState({ storeName: "state_demo", key: key("a") });
    expect(new TextDecoder().decode(got.data)).toBe("1");
    expect(got.etag).toBe(viaApi.etag);
    const bulk = await call("get_bulk_state", pb.GetBulkStateRequestSchema, { storeName: "state_demo", keys: [key("a"), key("b"), key("none")] }, pb.GetBulkStateResponseSchema);
    expect(bulk.items.map((i) => [i.key, new TextDecoder().decode(i.data)])).toEqual([
      [key("a"), "1"],
      [key("b"), "2"],
      [key("none"), ""],
    ]);
    await call("execute_state_transaction", pb.ExecuteStateTransactionRequestSchema, { storeName: "state_demo", operations: [{ operationType: "upsert", request: { key: key("c"), value: new TextEncoder().encode("3") } }] }, EmptySchema);
    expect(new TextDecoder().decode((await rt.client.getState({ storeName: "state_demo", key: key("c") })).data)).toBe("3");
    await call("delete_state", pb.DeleteStateRequestSchema, { storeName: "state_demo", key: key("a") }, EmptySchema);
    await call("delete_bulk_state", pb.DeleteBulkStateRequestSchema, { storeName: "state_demo", states: [{ key: key("b") }, { key: key("c") }] }, EmptySchema);
    for (const k of ["a", "b", "c"]) expect((await rt.client.getState({ storeName: "state_demo", key: key(k) })).data).toHaveLength(0);
  });

  it("an rpc's error reaches the guest with its code and text, as a gRPC client gets them", async () => {
    const request = { storeName: "nope", key: "k" };
    const viaApi = await rt.client.getState(request).catch((e: unknown) => ConnectError.from(e));
    const viaWasm = await call("get_state", pb.GetStateRequestSchema, request, pb.GetStateResponseSchema).catch((e: unknown) => ConnectError.from(e));
    expect(viaWasm).toBeInstanceOf(ConnectError);
    expect((viaWasm as ConnectError).code).toBe(Code.InvalidArgument);
    expect((viaWasm as ConnectError).rawMessage).toBe((viaApi as ConnectError).rawMessage);
  });

  it("lock: try_lock, lock_keep_alive, unlock", async () => {
    const lock = { storeName: "lock_demo", resourceId: key("res"), lockOwner: "owner-1", expire: 30 };
    expect((await call("try_lock", pb.TryLockRequestSchema, lock, pb.TryLockResponseSchema)).success).toBe(true);
    expect((await rt.client.tryLock({ ...lock, lockOwner: "owner-2" })).success).toBe(false);
    await call("lock_keep_alive", pb.LockKeepAliveRequestSchema, { storeName: "lock_demo", resourceId: key("res"), lockOwner: "owner-1", expire: 30 }, pb.LockKeepAliveResponseSchema);
    const unlocked = await call("unlock", pb.UnlockRequestSchema, { storeName: "lock_demo", resourceId: key("res"), lockOwner: "owner-1" }, pb.UnlockResponseSchema);
    expect(unlocked.status).toBe(pb.UnlockResponse_Status.SUCCESS);
  });

  it("sequencer: get_next_id shares the sequence with the API", async () => {
    const first = await call("get_next_id", pb.GetNextIdRequestSchema, { storeName: "sequencer_demo", key: key("ids"), options: { increment: pb.SequencerOptions_AutoIncrement.STRONG } }, pb.GetNextIdResponseSchema);
    const second = await rt.client.getNextId({ storeName: "sequencer_demo", key: key("ids"), options: { increment: pb.SequencerOptions_AutoIncrement.STRONG } });
    expect(BigInt(second.nextId)).toBe(BigInt(first.nextId) + 1n);
  });

  it("configuration: save, get, delete", async () => {
    await call("save_configuration", pb.SaveConfigurationRequestSchema, { storeName: "config_demo", appId: "wasm-test", items: [{ key: key("color"), content: "blue", group: "g", label: "l", tags: { t: "1" } }] }, EmptySchema);
    const got = await call("get_configuration", pb.GetConfigurationRequestSchema, { storeName: "config_demo", appId: "wasm-test", group: "g", label: "l", keys: [key("color")] }, pb.GetConfigurationResponseSchema);
    expect(got.items.map((i) => [i.key, i.content, i.tags])).toEqual([[key("color"), "blue", { t: "1" }]]);
    await call("delete_configuration", pb.DeleteConfigurationRequestSchema, { storeName: "config_demo", appId: "wasm-test", group: "g", label: "l", keys: [key("color")] }, EmptySchema);
    expect((await rt.client.getConfiguration({ storeName: "config_demo", appId: "wasm-test", group: "g", label: "l", keys: [key("color")] })).items).toEqual([]);
  });

  it("pub/sub: publish_event is accepted, and an unknown pubsub is refused", async () => {
    await call("publish_event", pb.PublishEventRequestSchema, { pubsubName: "pub_subs_demo", topic: key("t"), data: new TextEncoder().encode("hi"), dataContentType: "text/plain" }, EmptySchema);
    await expect(call("publish_event", pb.PublishEventRequestSchema, { pubsubName: "nope", topic: "t" }, EmptySchema)).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("file: list_file, get_file_meta and del_file on a file the API put", async () => {
    const name = key("note.txt");
    await rt.client.putFile((async function* () {
      yield { storeName: "file_demo", name, data: new TextEncoder().encode("hello") };
    })());
    const listed = await call("list_file", pb.ListFileRequestSchema, { request: { storeName: "file_demo", name: "" } }, pb.ListFileRespSchema);
    expect(listed.files.map((f) => f.fileName)).toContain(name);
    const meta = await call("get_file_meta", pb.GetFileMetaRequestSchema, { request: { storeName: "file_demo", name } }, pb.GetFileMetaResponseSchema);
    expect(meta.size).toBe(5n);
    await call("del_file", pb.DelFileRequestSchema, { request: { storeName: "file_demo", name } }, EmptySchema);
    await expect(call("get_file_meta", pb.GetFileMetaRequestSchema, { request: { storeName: "file_demo", name } }, pb.GetFileMetaResponseSchema)).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("secrets: get_secret and get_bulk_secret", async () => {
    const one = await call("get_secret", pb.GetSecretRequestSchema, { storeName: "secret_demo", key: "db-password" }, pb.GetSecretResponseSchema);
    expect(one.data).toEqual({ "db-password": "s3cret" });
    const bulk = await call("get_bulk_secret", pb.GetBulkSecretRequestSchema, { storeName: "secret_demo" }, pb.GetBulkSecretResponseSchema);
    expect(bulk.data["api-key"]?.secrets).toEqual({ "api-key": "key-0001" });
  });

  it("bindings: invoke_binding reaches the binding (its backend refuses) with the API's code and text", async () => {
    const request = { name: "http", operation: "get", metadata: { path: "/" } };
    const viaApi = await rt.client.invokeBinding(request).then(() => undefined, (e: unknown) => ConnectError.from(e));
    const viaWasm = await call("invoke_binding", pb.InvokeBindingRequestSchema, request, pb.InvokeBindingResponseSchema).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(viaWasm?.code).toBe(viaApi?.code);
    expect(viaWasm).toBeDefined();
  });

  it("invoke_service: a function calls another function by id", async () => {
    const answer = await call("invoke_service", pb.InvokeServiceRequestSchema, { id: `${prefix}-stock`, message: { method: "", data: { value: new TextEncoder().encode("book-none") }, httpExtension: { verb: pb.HTTPExtension_Verb.GET, querystring: "name=book-none" } } }, pb.InvokeResponseSchema);
    expect(new TextDecoder().decode(answer.data?.value)).toBe("There are  inventories for book-none.");
  });

  it("exercised every import of the generated table", () => {
    expect([...exercised].sort()).toEqual(runtimeWasmImports.map((i) => i.name).sort());
  });
});

describe("the stock example over the HTTP trigger", () => {
  it.each(["go-stock", "as-stock", "asw-stock"])("%s answers from the state the API saved", async (id) => {
    await rt.client.saveState({ storeName: "state_demo", states: [{ key: "book1", value: new TextEncoder().encode("100") }] });
    const byPath = await fetch(`${rt.functionsUrl}/${id}?name=book1`);
    expect(byPath.status).toBe(200);
    expect(await byPath.text()).toBe("There are 100 inventories for book1.");
    const byHeader = await fetch(`${rt.functionsUrl}/?name=book1`, { headers: { id } });
    expect(await byHeader.text()).toBe("There are 100 inventories for book1.");
  });

  it("a missing parameter answers the function's INVALID_ARGUMENT as 400 with its text", async () => {
    const response = await fetch(`${rt.functionsUrl}/go-stock`);
    expect(response.status).toBe(400);
    expect(await response.text()).toBe("name the book: ?name=<book>");
  });

  it("an unknown function is 404", async () => {
    const response = await fetch(`${rt.functionsUrl}/nope`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("no function has id 'nope'");
  });
});
