import { createHash } from "node:crypto";
import { Code } from "@connectrpc/connect";
import {
  createOttavoClient,
  EtagInvalid,
  EtagMismatch,
  FailedPrecondition,
  FileNotFound,
  FilePermissionDenied,
  InvalidArgument,
  InvalidName,
  OttavoError,
  readAll,
  ResolverUnavailable,
  SecretNotFound,
  TopicNotFound,
  Unreachable,
  UnsupportedOperation,
  type OttavoClient,
  type SubscribeConfigurationResponse,
} from "@ottavo/sdk";
import { loadScenarios, startScenarioRuntime, type Scenario, type ScenarioRuntime } from "../../test/scenario-runtime";

/** The TypeScript runner of sdks/scenarios/scenarios.json: each scenario written as an app would write it. */
type Run = (client: OttavoClient, input: Record<string, any>, expected: Record<string, any>, scenario: Scenario) => Promise<void>;

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const errorClasses: Record<string, abstract new (...args: never[]) => OttavoError> = {
  EtagInvalid,
  EtagMismatch,
  FailedPrecondition,
  FileNotFound,
  FilePermissionDenied,
  InvalidArgument,
  InvalidName,
  ResolverUnavailable,
  SecretNotFound,
  TopicNotFound,
  Unreachable,
  UnsupportedOperation,
};

/** The call fails with the expected typed class, whose code is the expected status ("INVALID_ARGUMENT"). */
async function expectError(call: Promise<unknown>, expected: Record<string, any>): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(errorClasses[expected.error]);
  const status = String(expected.status).toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
  expect([(error as OttavoError).name, Code[(error as OttavoError).code]]).toEqual([expected.error, status]);
}

const scenarios: Record<string, Run> = {
  async hello(client, input, expected) {
    expect(await client.hello.sayHello(input.service, input.name)).toBe(expected.hello);
  },

  async "state-round-trip"(client, input, expected) {
    await client.state.save(input.store, { [input.key]: input.value });
    const read = await client.state.get(input.store, input.key);
    expect(text(read.data)).toBe(input.value);
    expect(read.etag).toBe(expected.etag);
    await client.state.delete(input.store, input.key, { etag: read.etag });
    expect((await client.state.get(input.store, input.key)).data).toHaveLength(0);
  },

  async "state-etag-conflict"(client, input, expected) {
    await client.state.save(input.store, { [input.key]: input.first });
    const { etag } = await client.state.get(input.store, input.key);
    await client.state.save(input.store, { [input.key]: input.second }, { etag });
    await expectError(client.state.save(input.store, { [input.key]: input.stale }, { etag }), expected);
    expect(text((await client.state.get(input.store, input.key)).data)).toBe(expected.value);
  },

  async "state-bulk"(client, input, expected) {
    const items = input.items as Record<string, string>;
    await client.state.save(input.store, items);
    const read = await client.state.getBulk(input.store, [...Object.keys(items), input.missing]);
    expect(Object.fromEntries(read.map((item) => [item.key, text(item.data)]))).toEqual({ ...items, [input.missing]: "" });
    await client.state.deleteBulk(input.store, Object.keys(items));
    for (const item of await client.state.getBulk(input.store, Object.keys(items))) expect(text(item.data)).toBe(expected.afterDelete);
  },

  async "state-transaction"(client, input, expected) {
    await client.state.save(input.store, { [input.drop]: "to be deleted" });
    await client.state.transact(input.store, [
      { operationType: "upsert", request: { key: input.keep, value: new TextEncoder().encode(input.value) } },
      { operationType: "delete", request: { key: input.drop } },
    ]);
    expect(text((await client.state.get(input.store, input.keep)).data)).toBe(input.value);
    expect(text((await client.state.get(input.store, input.drop)).data)).toBe(expected.dropped);
  },

  async "lock-contention"(client, input, expected, scenario) {
    const other = createOttavoClient({ endpoint: endpointOf(scenario) });
    const [a, b] = input.owners as string[];
    const first = await client.lock.tryLock(input.store, input.resource, a, input.expireSeconds);
    expect(first.acquired).toBe(true);
    const refused = await other.lock.tryLock(input.store, input.resource, b, input.expireSeconds);
    expect(refused.acquired).toBe(false);
    expect(await refused.unlock()).toBeUndefined();
    expect(await first.unlock()).toBe(expected.unlockStatus);
    const second = await other.lock.tryLock(input.store, input.resource, b, input.expireSeconds);
    try {
      expect(second.acquired).toBe(true);
    } finally {
      await second.unlock();
    }
    // Released: the first owner can take it again.
    const again = await client.lock.tryLock(input.store, input.resource, a, input.expireSeconds);
    expect(again.acquired).toBe(true);
    await again.unlock();
  },

  async sequencer(client, input, expected) {
    const ids: bigint[] = [];
    for (let i = 0; i < expected.count; i++) ids.push(BigInt(await client.sequencer.nextId(input.store, input.key)));
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
  },

  async "configuration-subscribe"(client, input) {
    await client.configuration.save(input.store, [{ key: input.key, content: input.first }]);
    const items = await client.configuration.get(input.store, [input.key]);
    expect(items.map((item) => item.content)).toEqual([input.first]);
    const subscription = client.configuration.subscribe(input.store, [input.key]);
    // Resolves once the runtime confirmed the subscription: the save below is delivered, with no wait or retry.
    await subscription.ready;
    await client.configuration.save(input.store, [{ key: input.key, content: input.changed }]);
    const changes = subscription[Symbol.asyncIterator]();
    const received = await changes.next();
    expect(received.done).toBe(false);
    expect((received.value as SubscribeConfigurationResponse).items.map((item) => item.content)).toEqual([input.changed]);
    subscription.close();
    expect((await changes.next()).done).toBe(true);
  },

  async "pubsub-stream"(client, input) {
    const subscription = client.pubsub.subscribe(input.pubsub, input.topic);
    await subscription.ready;
    await client.pubsub.publish(input.pubsub, input.topic, input.data);
    for await (const message of subscription) {
      expect(text(message.data)).toBe(input.data);
      expect(message.event.topic).toBe(input.topic);
      message.success();
      break;
    }
  },

  async "file-round-trip"(client, input, expected) {
    const content = deterministicBytes(input.sizeBytes);
    async function* chunks() {
      for (let at = 0; at < content.length; at += 256 * 1024) yield content.subarray(at, at + 256 * 1024);
    }
    await client.file.put(input.store, input.name, chunks());
    const read = await readAll(client.file.get(input.store, input.name));
    expect(read.length).toBe(content.length);
    expect(sha256(read)).toBe(sha256(content));
    expect(Number((await client.file.stat(input.store, input.name)).size)).toBe(content.length);
    const listed = await client.file.list(input.store, input.dir);
    expect(listed.files.some((file) => file.fileName.endsWith("blob.bin"))).toBe(true);
    await client.file.delete(input.store, input.name);
    await expectError(readAll(client.file.get(input.store, input.name)), expected);
  },

  async secrets(client, input, expected) {
    expect(await client.secret.get(input.store, input.key)).toEqual({ [input.key]: expected.value });
    const all = await client.secret.getBulk(input.store);
    expect(all[input.key]?.secrets[input.key]).toBe(expected.value);
    await expectError(client.secret.get(input.store, input.missing), expected);
  },

  async binding(client, input, expected) {
    const response = await client.binding.invoke(input.name, input.operation, input.data);
    expect(text(response.data)).toBe(expected.data);
  },

  async invoke(client, input, expected) {
    const response = await client.invoke(input.app, input.method, input.data, { contentType: input.contentType });
    expect(text(response.data?.value ?? new Uint8Array())).toBe(expected.data);
    expect(response.contentType).toBe(expected.contentType);
  },

  async "error-unknown-store"(client, input, expected) {
    await expectError(client.state.get(input.store, input.key), expected);
  },

  async "error-etag-invalid"(client, input, expected) {
    await expectError(client.state.save(input.store, { [input.key]: input.value }, { etag: input.etag }), expected);
    // Also an instance of its status's class.
    await expect(client.state.save(input.store, { [input.key]: input.value }, { etag: input.etag })).rejects.toBeInstanceOf(InvalidArgument);
  },

  async "error-file-invalid-name"(client, input, expected) {
    await expectError(client.file.stat(input.store, input.name), expected);
  },

  async "error-topic-not-found"(client, input, expected) {
    await expectError(client.pubsub.publish(input.pubsub, input.topic, input.data), expected);
  },

  async "error-binding-unsupported-operation"(client, input, expected) {
    await expectError(client.binding.invoke(input.name, input.operation, input.data), expected);
  },

  async "error-binding-unreachable"(client, input, expected) {
    await expectError(client.binding.invoke(input.name, input.operation, input.data), expected);
  },

  async "error-invoke-own-app"(client, input, expected) {
    await expectError(client.invoke(input.app, input.method, input.data), expected);
  },

  async "error-invoke-resolver-unavailable"(client, input, expected) {
    await expectError(client.invoke(input.app, input.method, input.data), expected);
  },

  async "error-file-permission-denied"(client, input, expected) {
    await expectError(client.file.delete(input.store, input.name), expected);
  },
};

function deterministicBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

let running: ScenarioRuntime;
const endpointOf = (_: Scenario) => running.endpoint;
const table = loadScenarios();

beforeAll(async () => {
  running = await startScenarioRuntime();
});
afterAll(() => running?.stop());

it("implements exactly the scenarios of the table", () => {
  expect(Object.keys(scenarios).sort()).toEqual(table.map((s) => s.id).sort());
});

describe.each(table.map((s) => [s.id, s] as const))("scenario %s", (_id, scenario) => {
  it(scenario.title, async () => {
    const client = createOttavoClient({ endpoint: running.endpoint });
    await scenarios[scenario.id](client, scenario.input as Record<string, any>, scenario.expect as Record<string, any>, scenario);
  }, 30_000);
});
