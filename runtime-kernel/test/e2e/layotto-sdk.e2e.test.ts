/**
 * The published Layotto Node.js SDK (npm `layotto`), unmodified, against the
 * built runtime process: what a Layotto user gets when they point their app at
 * Ottavo. Where the SDK's Client has no method for an rpc (secrets, file meta),
 * the test calls the generated grpc-js stub the same package ships and its
 * Client uses (`layotto/proto/runtime/v1/runtime_grpc_pb`).
 */
import { credentials, status, type ServiceError } from "@grpc/grpc-js";
import { Client, RuntimeTypes, Types } from "layotto";
import { RuntimeClient } from "layotto/proto/runtime/v1/runtime_grpc_pb";
import { Readable } from "node:stream";
import { startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { demoConfig, demoFiles, demoSecrets, eventually, startHttpBackend, type HttpBackend } from "./support";

const { StateOperationType } = Types.State;

let runtime: RunningRuntime;
let backend: HttpBackend;
let client: Client;
let stub: RuntimeClient;

beforeAll(async () => {
  backend = await startHttpBackend((request, response) => {
    response.setHeader("content-type", "application/json");
    response.setHeader("x-backend", "e2e");
    response.end(JSON.stringify({ method: request.method, path: request.url, body: request.body }));
  });
  runtime = await startRuntime({ config: demoConfig({ bindingUrl: backend.url }), files: demoFiles });
  client = new Client(String(runtime.apiPort), "127.0.0.1");
  stub = new RuntimeClient(`127.0.0.1:${runtime.apiPort}`, credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  stub?.close();
  if (runtime) {
    expect(await runtime.stop()).toBe(0);
    // Cancelled streams and refused calls are no internal errors.
    expect(runtime.stderr()).toBe("");
  }
  await backend?.close();
});

/** The rejection of a call that must fail, as grpc-js reports it. */
async function failure(call: Promise<unknown>): Promise<ServiceError> {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (outcome === undefined) throw new Error("the call succeeded; expected a gRPC error");
  return outcome as ServiceError;
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

describe("hello", () => {
  it("answers the configured greeting, with the caller's name appended", async () => {
    expect(await client.hello.sayHello({ serviceName: "quick_start_demo", name: "e2e" })).toBe("greetings, e2e");
  });

  it("answers the SDK's default service name 'helloworld' from the only hello component", async () => {
    expect(await client.hello.sayHello()).toBe("greetings");
  });
});

describe("state", () => {
  const storeName = "state_demo";

  it("saves and reads back a value with etag 1, then 2 after another save", async () => {
    await client.state.save({ storeName, states: { key: "sdk-greeting", value: "hello" } });
    const first = await client.state.get({ storeName, key: "sdk-greeting" });
    expect(first).not.toBeNull();
    expect(text(first!.value)).toBe("hello");
    expect(first!.etag).toBe("1");

    await client.state.save({ storeName, states: { key: "sdk-greeting", value: "hello again" } });
    const second = await client.state.get({ storeName, key: "sdk-greeting" });
    expect(text(second!.value)).toBe("hello again");
    expect(second!.etag).toBe("2");
  });

  it("reads a missing key as null (empty data and etag, no error)", async () => {
    expect(await client.state.get({ storeName, key: "sdk-never-written" })).toBeNull();
  });

  it("saves several keys in one call and reads them in bulk; missing keys are left out by the SDK", async () => {
    await client.state.save({
      storeName,
      states: [
        { key: "sdk-bulk-a", value: "A" },
        { key: "sdk-bulk-b", value: Buffer.from("B") },
      ],
    });
    const items = await client.state.getBulk({ storeName, keys: ["sdk-bulk-a", "sdk-bulk-b", "sdk-bulk-missing"] });
    expect(items.map((item) => [item.key, text(item.value), item.etag])).toEqual([
      ["sdk-bulk-a", "A", "1"],
      ["sdk-bulk-b", "B", "1"],
    ]);

    await client.state.deleteBulk({ storeName, states: [{ key: "sdk-bulk-a" }, { key: "sdk-bulk-b" }] });
    expect(await client.state.getBulk({ storeName, keys: ["sdk-bulk-a", "sdk-bulk-b"] })).toEqual([]);
  });

  it("deletes a key", async () => {
    await client.state.save({ storeName, states: { key: "sdk-delete-me", value: "x" } });
    await client.state.delete({ storeName, key: "sdk-delete-me" });
    expect(await client.state.get({ storeName, key: "sdk-delete-me" })).toBeNull();
  });

  it("applies a transaction of upserts and deletes", async () => {
    await client.state.save({ storeName, states: { key: "sdk-tx-old", value: "old" } });
    await client.state.executeTransaction({
      storeName,
      operations: [
        { operationType: StateOperationType.Upsert, request: { key: "sdk-tx-new", value: "new" } },
        { operationType: StateOperationType.Delete, request: { key: "sdk-tx-old" } },
      ],
    });
    const created = await client.state.get({ storeName, key: "sdk-tx-new" });
    expect(text(created!.value)).toBe("new");
    expect(await client.state.get({ storeName, key: "sdk-tx-old" })).toBeNull();
  });

  it("refuses a stale etag with ABORTED on save and delete, and accepts the current one", async () => {
    await client.state.save({ storeName, states: { key: "sdk-etag", value: "v1" } });
    await client.state.save({ storeName, states: { key: "sdk-etag", value: "v2" } });

    const saveError = await failure(client.state.save({ storeName, states: { key: "sdk-etag", value: "v3", etag: "1" } }));
    expect(saveError.code).toBe(status.ABORTED);
    expect(saveError.details).toContain(`etag "1" of key 'sdk-etag' is stale: the current etag is "2"`);

    const deleteError = await failure(client.state.delete({ storeName, key: "sdk-etag", etag: "1" }));
    expect(deleteError.code).toBe(status.ABORTED);

    // The value is untouched by the refused writes.
    expect(text((await client.state.get({ storeName, key: "sdk-etag" }))!.value)).toBe("v2");

    await client.state.save({ storeName, states: { key: "sdk-etag", value: "v3", etag: "2" } });
    expect(await client.state.get({ storeName, key: "sdk-etag" })).toMatchObject({ etag: "3" });
    await client.state.delete({ storeName, key: "sdk-etag", etag: "3" });
    expect(await client.state.get({ storeName, key: "sdk-etag" })).toBeNull();
  });

  // Layotto's demo/state/common/client.go, step by step: its SaveBulkState gives a
  // made-up etag "2" under last-write (one key exists at etag 1, the other not at
  // all), which Layotto's stores accept by ignoring the etag.
  it("runs Layotto's state demo: a last-write bulk save with a made-up etag succeeds", async () => {
    const [key1, key2] = ["demo-key1", "demo-key2"];
    await client.state.save({ storeName, states: { key: key1, value: "hello world" } });
    expect(await client.state.get({ storeName, key: key1 })).toMatchObject({ etag: "1" });
    const lastWrite = {
      concurrency: RuntimeTypes.StateOptions.StateConcurrency.CONCURRENCY_LAST_WRITE,
      consistency: RuntimeTypes.StateOptions.StateConsistency.CONSISTENCY_STRONG,
    };
    const item = (key: string) => ({ key, value: "hello world", etag: "2", options: lastWrite, metadata: { "some-key-for-component": "some-value" } });
    await client.state.save({ storeName, states: [item(key1), item(key2)] });
    const bulk = await client.state.getBulk({ storeName, keys: [key1, key2, "demo-key3"], parallelism: 3 });
    const etags = Object.fromEntries(bulk.map((one) => [one.key, one.etag]));
    expect(etags).toEqual({ [key1]: "2", [key2]: "1" });
    await client.state.delete({ storeName, key: key1, etag: etags[key1] });
    await client.state.delete({ storeName, key: key2, etag: etags[key2] });
    expect(await client.state.get({ storeName, key: key1 })).toBeNull();
  });
});

describe("lock", () => {
  const storeName = "lock_demo";

  it("grants a lock once, is not re-entrant, and answers Layotto's unlock statuses", async () => {
    const resourceId = `sdk-lock-${client.lock.uuid()}`;
    expect(await client.lock.tryLock({ storeName, resourceId, lockOwner: "owner-1", expire: 60 })).toBe(true);
    // Not re-entrant: the same owner does not get it again, nor does another.
    expect(await client.lock.tryLock({ storeName, resourceId, lockOwner: "owner-1", expire: 60 })).toBe(false);
    expect(await client.lock.tryLock({ storeName, resourceId, lockOwner: "owner-2", expire: 60 })).toBe(false);

    // LOCK_BELONG_TO_OTHERS = 2, SUCCESS = 0, LOCK_UNEXIST = 1.
    expect(await client.lock.unLock({ storeName, resourceId, lockOwner: "owner-2" })).toEqual({ status: 2 });
    expect(await client.lock.unLock({ storeName, resourceId, lockOwner: "owner-1" })).toEqual({ status: 0 });
    expect(await client.lock.unLock({ storeName, resourceId, lockOwner: "owner-1" })).toEqual({ status: 1 });

    expect(await client.lock.tryLock({ storeName, resourceId, lockOwner: "owner-2", expire: 60 })).toBe(true);
  });

  it("lets the lease expire after `expire` seconds, so another owner gets the lock", async () => {
    const resourceId = "sdk-lock-expiring";
    const taken = Date.now();
    expect(await client.lock.tryLock({ storeName, resourceId, lockOwner: "short", expire: 1 })).toBe(true);
    expect(await client.lock.tryLock({ storeName, resourceId, lockOwner: "next", expire: 60 })).toBe(false);
    await eventually(async () => {
      expect(await client.lock.tryLock({ storeName, resourceId, lockOwner: "next", expire: 60 })).toBe(true);
    }, 5_000, 100);
    expect(Date.now() - taken).toBeGreaterThanOrEqual(900);
    // The expired holder's unlock finds a lock that is no longer its own.
    expect((await client.lock.unLock({ storeName, resourceId, lockOwner: "short" })).status).not.toBe(0);
  });
});

describe("sequencer", () => {
  const storeName = "sequencer_demo";
  const { WEAK, STRONG } = RuntimeTypes.SequencerOptions.AutoIncrement;

  it("hands out increasing ids as decimal strings, WEAK by default", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await client.sequencer.getNextId({ storeName, key: "sdk-weak" }));
    ids.push(await client.sequencer.getNextId({ storeName, key: "sdk-weak", options: { increment: WEAK } }));
    for (const id of ids) expect(id).toMatch(/^[1-9]\d*$/);
    const numbers = ids.map(BigInt);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i] > numbers[i - 1]).toBe(true);
  });

  it("counts STRONG ids from 1 on a fresh key, one by one", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await client.sequencer.getNextId({ storeName, key: "sdk-strong", options: { increment: STRONG } }));
    }
    expect(ids).toEqual(["1", "2", "3"]);
  });
});

describe("configuration", () => {
  const storeName = "config_demo";
  const appId = "e2e";

  it("saves, gets and deletes items; blank group and label read back as the store's default", async () => {
    await client.configuration.save({
      storeName,
      appId,
      items: [
        { key: "sdk-color", content: "blue" },
        { key: "sdk-size", content: "L", group: "shop", label: "v2" },
      ],
    });
    const plain = await client.configuration.get({ storeName, appId, keys: ["sdk-color"] });
    expect(plain).toEqual([{ key: "sdk-color", content: "blue", group: "default", label: "default", tags: {}, metadata: {} }]);
    const grouped = await client.configuration.get({ storeName, appId, keys: ["sdk-size"], group: "shop", label: "v2" });
    expect(grouped.map((item) => [item.key, item.content, item.group, item.label])).toEqual([["sdk-size", "L", "shop", "v2"]]);

    await client.configuration.delete({ storeName, appId, keys: ["sdk-color"] });
    expect(await client.configuration.get({ storeName, appId, keys: ["sdk-color"] })).toEqual([]);
  });

  it("pushes a change to a subscriber after a save", async () => {
    const received: { key: string; content: string }[][] = [];
    let closed: Error | undefined | "open" = "open";
    const call = client.configuration.subscribe({
      storeName,
      appId,
      keys: ["sdk-watched"],
      onData: (items: Types.Configuration.GetConfigurationItem[]) =>
        received.push(items.map(({ key, content }) => ({ key, content }))),
      onClose: (error?: Error) => (closed = error),
    });
    try {
      // The stream has no "subscribed" answer, so save until the subscription (registered
      // asynchronously on the server) reports one; each save has its own content.
      let saves = 0;
      await eventually(async () => {
        await client.configuration.save({ storeName, appId, items: [{ key: "sdk-watched", content: `v${++saves}` }] });
        expect(received.length).toBeGreaterThan(0);
      }, 5_000, 50);
      expect(received[0]).toEqual([{ key: "sdk-watched", content: expect.stringMatching(/^v\d+$/) }]);

      // A change to a key nobody watches is not pushed; a later change to the watched key is.
      const before = received.length;
      await client.configuration.save({ storeName, appId, items: [{ key: "sdk-unwatched", content: "x" }] });
      await client.configuration.save({ storeName, appId, items: [{ key: "sdk-watched", content: "last" }] });
      await eventually(async () => expect(received.at(-1)).toEqual([{ key: "sdk-watched", content: "last" }]));
      expect(received.slice(before).flat().map((item) => item.key)).not.toContain("sdk-unwatched");
    } finally {
      call.cancel();
    }
    await eventually(async () => expect(closed).not.toBe("open"));
  });
});

describe("file", () => {
  const storeName = "file_demo";

  /** The SDK's put resolves once its side of the stream is written, not when the runtime answered. */
  const stored = (name: string) =>
    eventually(async () => {
      expect((await client.file.list({ storeName, name: "sdk/" })).names).toContain(name);
    });

  async function read(name: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await client.file.get({ storeName, name })) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  }

  it("puts, gets, lists, describes and deletes a file", async () => {
    await client.file.put({ storeName, name: "sdk/hello.txt", data: Buffer.from("hello, file") });
    await stored("sdk/hello.txt");
    expect((await read("sdk/hello.txt")).toString()).toBe("hello, file");

    // A file larger than one GetFile chunk (100 KiB), uploaded as a stream of pieces.
    const big = Buffer.alloc(250 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const pieces = [big.subarray(0, 64 * 1024), big.subarray(64 * 1024, 200 * 1024), big.subarray(200 * 1024)];
    await client.file.put({ storeName, name: "sdk/big.bin", stream: Readable.from(pieces) });
    await stored("sdk/big.bin");
    expect((await read("sdk/big.bin")).equals(big)).toBe(true);

    expect((await client.file.list({ storeName, name: "sdk/" })).names).toEqual(["sdk/big.bin", "sdk/hello.txt"]);

    const meta = await new Promise<RuntimeTypes.GetFileMetaResponse>((resolve, reject) => {
      const request = new RuntimeTypes.GetFileMetaRequest();
      request.setRequest(new RuntimeTypes.FileRequest().setStoreName(storeName).setName("sdk/big.bin"));
      stub.getFileMeta(request, (error, response) => (error ? reject(error) : resolve(response)));
    });
    expect(meta.getSize()).toBe(big.length);
    expect(meta.getLastModified()).not.toBe("");

    await client.file.delete({ storeName, name: "sdk/hello.txt" });
    await client.file.delete({ storeName, name: "sdk/big.bin" });
    expect((await client.file.list({ storeName, name: "sdk/" })).names).toEqual([]);
  });

  it("fails a get of a missing file with NOT_FOUND on the stream", async () => {
    const error = await failure(read("sdk/missing.txt"));
    expect(error.code).toBe(status.NOT_FOUND);
  });
});

describe("secrets (through the SDK package's generated stub: its Client has no secret API)", () => {
  const storeName = "secret_demo";

  it("reads one secret from the local.file store", async () => {
    const response = await new Promise<RuntimeTypes.GetSecretResponse>((resolve, reject) => {
      const request = new RuntimeTypes.GetSecretRequest().setStoreName(storeName).setKey("db-password");
      stub.getSecret(request, (error, answer) => (error ? reject(error) : resolve(answer)));
    });
    expect(Object.fromEntries(response.getDataMap().entries())).toEqual({ "db-password": demoSecrets["db-password"] });
  });

  it("reads every secret in bulk, nested ones flattened with ':'", async () => {
    const response = await new Promise<RuntimeTypes.GetBulkSecretResponse>((resolve, reject) => {
      stub.getBulkSecret(new RuntimeTypes.GetBulkSecretRequest().setStoreName(storeName), (error, answer) =>
        error ? reject(error) : resolve(answer),
      );
    });
    const secrets: Record<string, Record<string, string>> = {};
    for (const [name, value] of response.getDataMap().entries()) {
      secrets[name] = Object.fromEntries(value.getSecretsMap().entries());
    }
    expect(secrets).toEqual({
      "db-password": { "db-password": "s3cret" },
      "api-key": { "api-key": "key-0001" },
      "db-user-pass:username": { "db-user-pass:username": "demo" },
      "db-user-pass:password": { "db-user-pass:password": "pa55" },
    });
  });
});

describe("binding", () => {
  it("invokes the http binding with get and post, answering the backend's body and status", async () => {
    const got = await client.binding.invoke({ name: "http", operation: "get", data: "", metadata: { path: "/items?id=7" } });
    expect(JSON.parse(text(got.data))).toEqual({ method: "GET", path: "/items?id=7", body: "" });
    expect(got.metadata).toMatchObject({ statusCode: "200", "Content-Type": "application/json", "X-Backend": "e2e" });

    const posted = await client.binding.invoke({
      name: "http",
      operation: "post",
      data: JSON.stringify({ order: 42 }),
      metadata: { path: "/orders", "content-type": "application/json" },
    });
    expect(JSON.parse(text(posted.data))).toEqual({ method: "POST", path: "/orders", body: '{"order":42}' });
    expect(backend.received.at(-1)?.headers["content-type"]).toBe("application/json");
  });
});

describe("pub/sub", () => {
  it("accepts a publish to a configured pubsub", async () => {
    await expect(client.pubsub.publish({ pubsubName: "pub_subs_demo", topic: "orders", data: { id: 1 } })).resolves.toBeUndefined();
  });
});
