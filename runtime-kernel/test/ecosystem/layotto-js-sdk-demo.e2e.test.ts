/**
 * The config of Layotto's js-sdk demo (layotto/js-sdk demo/config.json: Redis for
 * state, locks, ids and pub/sub, an `etcd` config_store given as `address` and
 * `timeout`, a helloworld, an http binding), with only its host:port values
 * pointed at this test's Redis, etcd and free ports, runs on Ottavo; the
 * published layotto npm SDK then does what the js-sdk's own configuration test
 * does against it: get, save, get in order, delete, subscribe and hear updates.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Client } from "layotto";
import { eventually, startEtcd, startRedis, startRuntime, type EtcdServer, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { freePort } from "../pubsub/support";

jest.setTimeout(60_000);

const demoConfig = readFileSync(path.join(__dirname, "..", "fixtures", "layotto-js-sdk-demo.json"), "utf8");

let etcd: EtcdServer;
let redis: RedisServer;
let runtime: RunningRuntime;
let client: Client;

beforeAll(async () => {
  [etcd, redis] = await Promise.all([startEtcd(), startRedis()]);
  const callbackPort = await freePort(); // no app listens there: the demo runs without one
  const config = demoConfig
    .replaceAll("localhost:2379", etcd.endpoint)
    .replaceAll("localhost:6379", `127.0.0.1:${redis.port}`)
    .replaceAll("127.0.0.1:34904", "127.0.0.1:0")
    .replaceAll("127.0.0.1:34999", "127.0.0.1:0")
    .replace('"grpc_callback_port": 9999', `"grpc_callback_port": ${callbackPort}`);
  runtime = await startRuntime({ config });
  client = new Client(String(runtime.apiPort), "127.0.0.1");
});

afterAll(async () => {
  client?.close();
  if (runtime !== undefined) expect(await runtime.stop()).toBe(0);
  await Promise.all([etcd?.remove(), redis?.stop()]);
});

it("the demo's Redis components answer the SDK: state, lock, sequencer", async () => {
  await client.state.save({ storeName: "state_demo", states: { key: "foo-js-sdk", value: "bar, from js-sdk" } });
  const got = await client.state.get({ storeName: "state_demo", key: "foo-js-sdk" });
  expect(Buffer.from(got!.value).toString("utf8")).toBe("bar, from js-sdk");
  expect(await client.lock.tryLock({ storeName: "lock_demo", resourceId: "demo-res", lockOwner: "owner-1", expire: 10 })).toBe(true);
  expect(await client.lock.unLock({ storeName: "lock_demo", resourceId: "demo-res", lockOwner: "owner-1" })).toEqual({ status: 0 });
  const ids = [await client.sequencer.getNextId({ storeName: "sequencer_demo", key: "demo" }), await client.sequencer.getNextId({ storeName: "sequencer_demo", key: "demo" })];
  expect(BigInt(ids[1]!)).toBeGreaterThan(BigInt(ids[0]!));
});

const storeName = "config_demo";
const appId = "js-sdk-unittest";

it("starts with every component of the demo config, the etcd config_store among them", async () => {
  const health = await fetch(`http://127.0.0.1:${runtime.actuatorPort}/actuator/health/readiness`);
  const body = (await health.json()) as { status: string; components: Record<string, { status: string }> };
  expect(health.status).toBe(200);
  expect(body.status).toBe("UP");
  expect(Object.keys(body.components).sort()).toEqual([
    "binding.http",
    "configuration.config_demo",
    "hello.helloworld",
    "lock.lock_demo",
    "lock.redis",
    "pubsub.pub_subs_demo",
    "pubsub.redis",
    "runtime_startup",
    "sequencer.sequencer_demo",
    "state.state_demo",
  ]);
  for (const [name, component] of Object.entries(body.components)) expect([name, component.status]).toEqual([name, "UP"]);
  expect(await client.hello.sayHello({ serviceName: "helloworld" })).toBe("greeting");
});

it("save, get (in the order asked), delete, as the js-sdk's configuration test does", async () => {
  const [key1, key2] = ["hello1", "hello2"];
  expect(await client.configuration.get({ storeName, appId, keys: [key1, key2] })).toHaveLength(0);
  await client.configuration.save({
    storeName,
    appId,
    items: [
      { key: key1, content: "world1 哈哈，😄" },
      { key: key2, content: "world2 哈哈，😄" },
    ],
  });
  const configs = await client.configuration.get({ storeName, appId, keys: [key1, key2] });
  expect(configs.map((c) => [c.key, c.content, c.group, c.label])).toEqual([
    [key1, "world1 哈哈，😄", "default", "default"],
    [key2, "world2 哈哈，😄", "default", "default"],
  ]);
  // Layotto's etcd layout, under its default (no) prefix.
  const stored = await fetch(`http://${etcd.endpoint}/v3/kv/range`, {
    method: "POST",
    body: JSON.stringify({ key: Buffer.from(`/${appId}/default/default/${key1}`).toString("base64") }),
  }).then((r) => r.json() as Promise<{ kvs?: unknown[] }>);
  expect(stored.kvs).toHaveLength(1);

  await client.configuration.delete({ storeName, appId, keys: [key1, key2] });
  expect(await client.configuration.get({ storeName, appId, keys: [key1, key2] })).toHaveLength(0);
});

it("subscribe hears every update of the keys it names, in order", async () => {
  const [key1, key2] = ["sub1", "sub2"];
  const heard: string[] = [];
  let closedWith: unknown = "open";
  const call = client.configuration.subscribe({
    storeName,
    appId,
    keys: [key1, key2],
    onData(items: { key: string; content: string }[]) {
      for (const item of items) heard.push(`${item.key}=${item.content}`);
    },
    onClose(err?: Error) {
      closedWith = err;
    },
  });
  try {
    // The subscription is in place once a save is heard: save until one is (no fixed wait).
    let probes = 0;
    await eventually(async () => {
      await client.configuration.save({ storeName, appId, items: [{ key: key1, content: `probe-${++probes}` }] });
      return heard.length > 0;
    });
    await eventually(() => heard.includes(`${key1}=probe-${probes}`));
    heard.length = 0;

    await client.configuration.save({
      storeName,
      appId,
      items: [
        { key: key1, content: "world1111 哈哈，😄" },
        { key: key2, content: "world2222 哈哈，😄" },
      ],
    });
    await client.configuration.save({ storeName, appId, items: [{ key: key2, content: "world2222-update2 哈哈，😄" }] });
    await client.configuration.save({ storeName, appId, items: [{ key: "not-subscribed", content: "x" }] });
    await client.configuration.save({ storeName, appId, items: [{ key: key1, content: "sentinel" }] });
    await eventually(() => heard.includes(`${key1}=sentinel`));
    expect(heard).toEqual([`${key1}=world1111 哈哈，😄`, `${key2}=world2222 哈哈，😄`, `${key2}=world2222-update2 哈哈，😄`, `${key1}=sentinel`]);
    expect(closedWith).toBe("open");
  } finally {
    call.end();
    call.destroy();
  }
});
