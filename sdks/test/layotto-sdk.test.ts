import { Client } from "layotto";
import { loadScenarios, startScenarioRuntime, type ScenarioRuntime } from "./scenario-runtime";

/**
 * The same scenario table through the published layotto npm SDK, unmodified,
 * where it can: what runs proves Ottavo serves it; what cannot run says why,
 * and is where Ottavo's generated SDKs do better (sdks/README.md lists it).
 */
type Input = Record<string, any>;
type Run = (client: Client, input: Input, expected: Input, running: ScenarioRuntime) => Promise<void>;

/** Layotto errors are raw grpc-js ServiceErrors: the status is a number, there is no typed class. */
async function expectCode(call: Promise<unknown>, code: number): Promise<void> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect((error as { code?: number } | undefined)?.code).toBe(code);
}

const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString();

/**
 * The gRPC status numbers of the table's expected statuses. A Layotto app gets only
 * this number: EtagInvalid, InvalidName, UnsupportedOperation and a bad request all
 * arrive as 3, with nothing to tell them apart but the message text.
 */
const statusNumbers: Record<string, number> = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, FAILED_PRECONDITION: 9, ABORTED: 10, UNAVAILABLE: 14, PERMISSION_DENIED: 7 };

const runs: Record<string, Run> = {
  async hello(client, input, expected) {
    expect(await client.hello.sayHello({ serviceName: input.service, name: input.name })).toBe(expected.hello);
  },
  async "state-round-trip"(client, input, expected) {
    await client.state.save({ storeName: input.store, states: [{ key: input.key, value: input.value }] });
    const read = await client.state.get({ storeName: input.store, key: input.key });
    expect(text(read?.value)).toBe(input.value);
    expect(read?.etag).toBe(expected.etag);
    await client.state.delete({ storeName: input.store, key: input.key });
  },
  async "state-etag-conflict"(client, input, expected) {
    await client.state.save({ storeName: input.store, states: [{ key: input.key, value: input.first }] });
    const etag = (await client.state.get({ storeName: input.store, key: input.key }))!.etag;
    await client.state.save({ storeName: input.store, states: [{ key: input.key, value: input.second, etag }] });
    await expectCode(client.state.save({ storeName: input.store, states: [{ key: input.key, value: input.stale, etag }] }), 10);
    expect(text((await client.state.get({ storeName: input.store, key: input.key }))?.value)).toBe(expected.value);
  },
  async "state-bulk"(client, input) {
    const items = input.items as Record<string, string>;
    await client.state.save({ storeName: input.store, states: Object.entries(items).map(([key, value]) => ({ key, value })) });
    const read = await client.state.getBulk({ storeName: input.store, keys: Object.keys(items) });
    expect(Object.fromEntries(read.map((item) => [item.key, text(item.value)]))).toEqual(items);
    await client.state.deleteBulk({ storeName: input.store, states: Object.keys(items).map((key) => ({ key })) });
  },
  async "state-transaction"(client, input, expected) {
    await client.state.save({ storeName: input.store, states: [{ key: input.drop, value: "to be deleted" }] });
    await client.state.executeTransaction({
      storeName: input.store,
      operations: [
        { operationType: "upsert" as never, request: { key: input.keep, value: input.value } },
        { operationType: "delete" as never, request: { key: input.drop } },
      ],
    });
    expect(text((await client.state.get({ storeName: input.store, key: input.keep }))?.value)).toBe(input.value);
    expect(text((await client.state.get({ storeName: input.store, key: input.drop }))?.value)).toBe(expected.dropped);
  },
  async "lock-contention"(client, input, expected, running) {
    const other = new Client(String(running.runtime.apiPort), "127.0.0.1");
    try {
      const [a, b] = input.owners as string[];
      const request = { storeName: input.store, resourceId: input.resource, expire: input.expireSeconds };
      expect(await client.lock.tryLock({ ...request, lockOwner: a })).toBe(true);
      expect(await other.lock.tryLock({ ...request, lockOwner: b })).toBe(false);
      expect((await client.lock.unLock({ storeName: input.store, resourceId: input.resource, lockOwner: a })).status).toBe(expected.unlockStatus);
      expect(await other.lock.tryLock({ ...request, lockOwner: b })).toBe(true);
      await other.lock.unLock({ storeName: input.store, resourceId: input.resource, lockOwner: b });
    } finally {
      other.close();
    }
  },
  async sequencer(client, input, expected) {
    const ids: bigint[] = [];
    for (let i = 0; i < expected.count; i++) ids.push(BigInt(await client.sequencer.getNextId({ storeName: input.store, key: input.key })));
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
  },
  async binding(client, input, expected) {
    const response = await client.binding.invoke({ name: input.name, operation: input.operation, data: input.data, metadata: {} });
    expect(text(response.data)).toBe(expected.data);
  },
  async "error-unknown-store"(client, input, expected) {
    await expectCode(client.state.get({ storeName: input.store, key: input.key }), statusNumbers[expected.status]);
  },
  async "error-etag-invalid"(client, input, expected) {
    const save = client.state.save({ storeName: input.store, states: [{ key: input.key, value: input.value, etag: input.etag }] });
    await expectCode(save, statusNumbers[expected.status]);
  },
  async "error-file-invalid-name"(client, input, expected) {
    await expectCode(client.file.delete({ storeName: input.store, name: input.name }), statusNumbers[expected.status]);
  },
  async "error-topic-not-found"(client, input, expected) {
    await expectCode(client.pubsub.publish({ pubsubName: input.pubsub, topic: input.topic, data: { text: input.data } }), statusNumbers[expected.status]);
  },
  async "error-binding-unsupported-operation"(client, input, expected) {
    const call = client.binding.invoke({ name: input.name, operation: input.operation, data: input.data, metadata: {} });
    await expectCode(call, statusNumbers[expected.status]);
  },
  async "error-binding-unreachable"(client, input, expected) {
    const call = client.binding.invoke({ name: input.name, operation: input.operation, data: input.data, metadata: {} });
    await expectCode(call, statusNumbers[expected.status]);
  },
  async "error-invoke-own-app"(client, input, expected) {
    await expectCode(client.invoker.invoke({ id: input.app, method: input.method, data: input.data }), statusNumbers[expected.status]);
  },
  async "error-file-permission-denied"(client, input, expected) {
    await expectCode(client.file.delete({ storeName: input.store, name: input.name }), statusNumbers[expected.status]);
  },
  async "error-invoke-resolver-unavailable"(client, input, expected) {
    await expectCode(client.invoker.invoke({ id: input.app, method: input.method, data: input.data }), statusNumbers[expected.status]);
  },
};

/** What the layotto npm SDK (1.18.0) cannot do, scenario by scenario. */
const cannot: Record<string, string> = {
  "configuration-subscribe": "subscribe() hands back the raw grpc-js duplex stream of protobuf-js messages; there is no iterator of changes to write the scenario against",
  "pubsub-stream": "no streaming subscription: the SDK predates SubscribeTopicEvents, so an app must run an AppCallback gRPC server to receive messages",
  "file-round-trip": "file.put resolves before the runtime answers (errors are lost) and takes one buffer, not a stream; there is no stat and no typed NotFound",
  secrets: "no secret API at all (GetSecret / GetBulkSecret are not wrapped)",
  invoke: "invoker.invoke wraps data in an Any with its own type URL and JSON-encodes objects; it cannot send raw bytes with a content type of the caller's choosing",
};

let running: ScenarioRuntime;
let client: Client;
beforeAll(async () => {
  running = await startScenarioRuntime();
  client = new Client(String(running.runtime.apiPort), "127.0.0.1");
});
afterAll(async () => {
  client?.close();
  await running?.stop();
});

const table = loadScenarios();

it("accounts for every scenario of the table: run, or a reason it cannot", () => {
  const covered = [...Object.keys(runs), ...Object.keys(cannot)].sort();
  expect(covered).toEqual(table.map((s) => s.id).sort());
});

describe.each(table.filter((s) => runs[s.id] !== undefined).map((s) => [s.id, s] as const))("layotto SDK: %s", (_id, scenario) => {
  it(scenario.title, async () => {
    await runs[scenario.id](client, scenario.input as Input, scenario.expect as Input, running);
  }, 30_000);
});
