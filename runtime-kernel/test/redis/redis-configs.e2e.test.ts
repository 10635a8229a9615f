/**
 * Issue 4, item 7: the Redis config examples in configs/, in Ottavo's YAML and
 * in Layotto's config.json form, start the runtime as they are written (only
 * pointed at the test's Redis and at free ports), and each capability they put
 * on Redis answers one call and leaves its data in Redis where the README says.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { RuntimeClient } from "@ottavo/generated/client/runtime-client";
import { SequencerOptions_AutoIncrement, UnlockResponse_Status } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { Redis } from "ioredis";
import { actuatorGet, decode, encode, grpcClient } from "./support";

const configsDir = path.resolve(__dirname, "..", "..", "..", "configs");

let redis: RedisServer;
let raw: Redis;

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  await raw.connect();
}, 20_000);

afterAll(async () => {
  raw?.disconnect();
  await redis?.stop();
});

/**
 * The file's text pointed at the test's Redis and at free ports. Every Redis
 * address must be rewritten: a test never touches a Redis it did not start.
 */
function rewritten(file: string): string {
  const text = readFileSync(path.join(configsDir, file), "utf8");
  const result = text
    .replaceAll("127.0.0.1:6379", `${redis.host}:${redis.port}`)
    .replaceAll("127.0.0.1:34904", "127.0.0.1:0")
    .replaceAll("127.0.0.1:34999", "127.0.0.1:0");
  expect(result).not.toMatch(/:6379\b|:34904\b|:34999\b/);
  expect(result.split(`${redis.host}:${redis.port}`).length - 1).toBeGreaterThanOrEqual(4);
  return result;
}

describe.each([
  ["Ottavo YAML", "redis.yaml", "yaml"],
  ["Layotto config.json", "layotto-redis.json", "json"],
] as const)("the Redis example in %s (configs/%s)", (_form, file, format) => {
  let runtime: RunningRuntime;
  let client: RuntimeClient;

  beforeAll(async () => {
    await raw.flushall();
    runtime = await startRuntime({ config: rewritten(file), format });
    client = grpcClient(runtime);
  }, 20_000);

  afterAll(async () => {
    if (runtime) expect(await runtime.stop()).toBe(0);
  });

  it("starts without warnings, ready with every component UP", async () => {
    expect(runtime.stderr()).toBe("");
    const ready = await actuatorGet(runtime, "/actuator/health/readiness");
    expect(ready.status).toBe(200);
    for (const key of ["state.state_demo", "lock.lock_demo", "sequencer.sequencer_demo", "configuration.config_demo"]) {
      expect(ready.body.components[key]).toEqual({ status: "UP" });
    }
  });

  it("keeps state in Redis: one hash per key, data and version", async () => {
    await client.saveState({ storeName: "state_demo", states: [{ key: "greeting", value: encode("hello redis") }] });
    const read = await client.getState({ storeName: "state_demo", key: "greeting" });
    expect([decode(read.data), read.etag]).toEqual(["hello redis", "1"]);
    expect(await raw.hgetall("greeting")).toEqual({ data: "hello redis", version: "1" });
  });

  it("takes locks in Redis under lock|||<app id>||<resource>", async () => {
    const lock = { storeName: "lock_demo", resourceId: "order-1", lockOwner: "worker-a" };
    expect((await client.tryLock({ ...lock, expire: 10 })).success).toBe(true);
    expect(await raw.get("lock|||quickstart||order-1")).toBe("worker-a");
    expect((await client.unlock(lock)).status).toBe(UnlockResponse_Status.SUCCESS);
    expect(await raw.exists("lock|||quickstart||order-1")).toBe(0);
  });

  it("draws ids from Redis under sequencer|||<app id>||<key>", async () => {
    const { nextId } = await client.getNextId({
      storeName: "sequencer_demo",
      key: "orders",
      options: { increment: SequencerOptions_AutoIncrement.STRONG },
    });
    expect(nextId).toBe("1");
    expect(await raw.get("sequencer|||quickstart||orders")).toBe("1");
  });

  it("keeps configuration in Redis, one hash per app, group and label", async () => {
    await client.saveConfiguration({ storeName: "config_demo", appId: "quickstart", items: [{ key: "color", content: "blue" }] });
    const { items } = await client.getConfiguration({ storeName: "config_demo", appId: "quickstart", keys: ["color"] });
    expect(items.map((item) => [item.key, item.content, item.group, item.label])).toEqual([["color", "blue", "default", "default"]]);
    const stored = await raw.hget("configuration|quickstart|default|default", "color");
    expect(JSON.parse(stored ?? "{}")).toMatchObject({ content: "blue" });
  });

  it("serves the in-memory rest: hello and publish", async () => {
    expect((await client.sayHello({ serviceName: "quick_start_demo", name: "redis" })).hello).toBe("greetings, redis");
    await client.publishEvent({ pubsubName: "pub_subs_demo", topic: "orders", data: encode("{}"), dataContentType: "application/json" });
  });
});
