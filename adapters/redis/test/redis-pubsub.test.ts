import { ComponentError } from "@ottavo/component-runtime";
import { parseRedisPubsubMetadata, type RedisPubsub as RedisPubsubContract } from "@ottavo/generated/components/adapters/redis";
import { MetadataError } from "@ottavo/component-runtime";
import type { DeliveryResult, PublishRequest, TopicMessage } from "@ottavo/generated/components/pubsub";
import { RedisConnection } from "../src/redis-connection";
import { processConsumerName, RedisPubsub, redisPubsubAdapter } from "../src/redis-pubsub";
import { bytes, closer, context, eventually, text, useRedis } from "./support";

const redis = useRedis();
const components = closer();
afterEach(() => components.closeAll());

/** Short backoffs keep redelivery tests fast; a test lays its own metadata over them. */
const fast = { redeliveryBackoff: "20ms", maxRedeliveryBackoff: "100ms" };

async function pubsub(extra: Record<string, unknown> = {}): Promise<RedisPubsubContract> {
  return components.track(await redisPubsubAdapter.create(redis.metadata({ ...fast, ...extra }), context()));
}

/** A component as another runtime process would make it: its own consumer name. */
async function otherRuntime(consumer: string, extra: Record<string, unknown> = {}): Promise<RedisPubsub> {
  const metadata = parseRedisPubsubMetadata(redis.metadata({ ...fast, ...extra }));
  const connection = await RedisConnection.open(metadata);
  return components.track(
    new RedisPubsub(connection, {
      redeliveryBackoffMs: metadata.redeliveryBackoff,
      maxRedeliveryBackoffMs: metadata.maxRedeliveryBackoff,
      maxDeliveries: metadata.maxDeliveries,
      consumerID: undefined,
      concurrency: metadata.concurrency,
      maxLenApprox: undefined,
      streamTTLMs: undefined,
      readTimeoutMs: metadata.readTimeout,
      consumer,
    }),
  );
}

const message = (data: string | Uint8Array, topic = "orders", metadata: Record<string, string> = {}): PublishRequest => ({
  topic,
  data: typeof data === "string" ? bytes(data) : data,
  contentType: "text/plain",
  metadata,
});

type Answer = (m: TopicMessage) => DeliveryResult | Promise<DeliveryResult>;

/** Subscribes to `orders` in group app1 (or as given), recording every delivery. */
async function subscribe(
  p: RedisPubsubContract,
  answer: Answer = () => "SUCCESS",
  request: { topic?: string; group?: string; deadLetterTopic?: string } = {},
): Promise<{ received: TopicMessage[]; close(): Promise<void> }> {
  const received: TopicMessage[] = [];
  const subscription = await p.subscribe(
    { topic: request.topic ?? "orders", consumerGroup: request.group ?? "app1", deadLetterTopic: request.deadLetterTopic, metadata: {} },
    async (m) => {
      received.push(m);
      return answer(m);
    },
  );
  return { received, close: () => subscription.close() };
}

/** Field/value pairs of a stream entry as an object (values as text). */
function fieldsOf(entry: [string, string[]]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < entry[1].length; i += 2) fields[entry[1][i]] = entry[1][i + 1];
  return fields;
}

async function pendingCount(stream: string, group: string): Promise<number> {
  const summary = (await redis.raw().xpending(stream, group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("redis pubsub", () => {
  it("publishes one stream entry per message: data, contentType and metadata (JSON), as Dapr's fields", async () => {
    const p = await pubsub();
    const data = Uint8Array.from([0, 1, 2, 0xff, 0xfe, 0x80]);
    await p.publish({ topic: "orders", data, contentType: "application/octet-stream", metadata: { partitionKey: "k1" } });
    const entries = (await redis.raw().xrangeBuffer("orders", "-", "+")) as [Buffer, Buffer[]][];
    expect(entries).toHaveLength(1);
    const [field0, value0, field1, value1, field2, value2] = entries[0][1];
    expect([field0, field1, field2].map(String)).toEqual(["data", "contentType", "metadata"]);
    expect([...value0]).toEqual([...data]);
    expect(String(value1)).toBe("application/octet-stream");
    expect(JSON.parse(String(value2))).toEqual({ partitionKey: "k1" });
  });

  it("delivers an entry Dapr published (data and metadata only) with an empty content type", async () => {
    const p = await pubsub();
    await redis.raw().xadd("orders", "*", "data", '{"specversion":"1.0"}', "metadata", '{"traceid":"t1","n":2}');
    const { received } = await subscribe(p);
    await eventually(() => received.length === 1);
    expect(received[0]).toMatchObject({ topic: "orders", contentType: "", deliveryCount: 1, metadata: { traceid: "t1" } });
    expect(text(received[0].data)).toBe('{"specversion":"1.0"}');
    expect(received[0].id).toMatch(/^\d+-\d+$/);
  });

  it("makes one consumer group per SubscribeRequest group, read under this process's consumer name", async () => {
    const p = await pubsub();
    await p.publish(message("before any subscription"));
    const first = await subscribe(p);
    await subscribe(p);
    await eventually(() => first.received.length === 1);
    const groups = (await redis.raw().call("XINFO", "GROUPS", "orders")) as unknown[][];
    expect(groups.map((g) => g[1])).toEqual(["app1"]);
    const consumers = (await redis.raw().call("XINFO", "CONSUMERS", "orders", "app1")) as unknown[][];
    expect(consumers.map((c) => c[1])).toEqual([processConsumerName]);
    await eventually(async () => (await pendingCount("orders", "app1")) === 0);
  });

  it("joins the consumerID group instead of the runtime's, as Dapr does", async () => {
    const p = await pubsub({ consumerID: "shared-group" });
    const { received } = await subscribe(p, () => "SUCCESS", { group: "app1" });
    await p.publish(message("m"));
    await eventually(() => received.length === 1);
    const groups = (await redis.raw().call("XINFO", "GROUPS", "orders")) as unknown[][];
    expect(groups.map((g) => g[1])).toEqual(["shared-group"]);
  });

  it("redelivers after redeliveryBackoff, doubling per delivery up to maxRedeliveryBackoff, counting as Redis does", async () => {
    const p = await pubsub({ redeliveryBackoff: "40ms", maxRedeliveryBackoff: "100ms" });
    const at: number[] = [];
    const { received } = await subscribe(p, () => {
      at.push(Date.now());
      return at.length < 5 ? "RETRY" : "SUCCESS";
    });
    await p.publish(message("slow"));
    await eventually(() => received.length === 5);
    expect(received.map((m) => m.deliveryCount)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(received.map((m) => m.id)).size).toBe(1);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    // Waits of 40, 80, 100 (capped) and 100 ms, each counted by Redis from the failure.
    [40, 80, 100, 100].forEach((wait, i) => expect(gaps[i]).toBeGreaterThanOrEqual(wait - 5));
    gaps.forEach((gap) => expect(gap).toBeLessThan(400));
    await eventually(async () => (await pendingCount("orders", "app1")) === 0);
  });

  it("claims what a runtime that died left pending, delivering it with the count Redis kept", async () => {
    const raw = redis.raw();
    await raw.xgroup("CREATE", "orders", "app1", "0", "MKSTREAM");
    await raw.xadd("orders", "*", "data", "orphan", "contentType", "text/plain", "metadata", "{}");
    // A runtime read it and died before answering.
    await raw.call("XREADGROUP", "GROUP", "app1", "dead-runtime", "COUNT", "1", "STREAMS", "orders", ">");
    const p = await pubsub();
    const { received } = await subscribe(p);
    await eventually(() => received.length === 1);
    expect(text(received[0].data)).toBe("orphan");
    expect(received[0].deliveryCount).toBe(2);
    await eventually(async () => (await pendingCount("orders", "app1")) === 0);
  });

  it("leaves alone a message another runtime is still handling, however long it takes", async () => {
    const busy = await otherRuntime("runtime-a");
    const idle = await otherRuntime("runtime-b");
    let finish: (() => void) | undefined;
    const a = await subscribe(busy, () => new Promise<DeliveryResult>((resolve) => (finish = () => resolve("SUCCESS"))));
    await busy.publish(message("long job"));
    await eventually(() => a.received.length === 1);
    const b = await subscribe(idle);
    // Twenty times the backoff: without the heartbeat, runtime-b would have claimed it long ago.
    await sleep(400);
    expect(b.received).toHaveLength(0);
    finish!();
    await eventually(async () => (await pendingCount("orders", "app1")) === 0);
    expect(a.received).toHaveLength(1);
  });

  it("moves a message delivered maxDeliveries times to the dead-letter stream and acknowledges it, in one step", async () => {
    const p = await pubsub({ maxDeliveries: "2" });
    const live = await subscribe(p, () => "RETRY", { deadLetterTopic: "orders-dead" });
    await p.publish({ topic: "orders", data: Uint8Array.from([0, 0xff]), contentType: "application/x-test", metadata: { k: "v" } });
    await eventually(async () => (await redis.raw().xlen("orders-dead")) === 1);
    expect(live.received.map((m) => m.deliveryCount)).toEqual([1, 2]);
    expect(await pendingCount("orders", "app1")).toBe(0);
    const [original] = (await redis.raw().xrangeBuffer("orders", "-", "+")) as [Buffer, Buffer[]][];
    const [moved] = (await redis.raw().xrangeBuffer("orders-dead", "-", "+")) as [Buffer, Buffer[]][];
    expect(moved[1].map((b) => b.toString("hex"))).toEqual(original[1].map((b) => b.toString("hex")));
    await sleep(200);
    expect(live.received).toHaveLength(2);
  });

  it("dead-letters a message a runtime left pending after its last allowed delivery, without delivering it", async () => {
    const raw = redis.raw();
    await raw.xgroup("CREATE", "orders", "app1", "0", "MKSTREAM");
    await raw.xadd("orders", "*", "data", "poison", "contentType", "text/plain", "metadata", "{}");
    await raw.call("XREADGROUP", "GROUP", "app1", "dead-runtime", "COUNT", "1", "STREAMS", "orders", ">");
    const p = await pubsub({ maxDeliveries: "1" });
    const live = await subscribe(p, () => "SUCCESS", { deadLetterTopic: "orders-dead" });
    await eventually(async () => (await raw.xlen("orders-dead")) === 1);
    const [moved] = (await raw.xrange("orders-dead", "-", "+")) as [string, string[]][];
    expect(fieldsOf(moved)).toEqual({ data: "poison", contentType: "text/plain", metadata: "{}" });
    expect(await pendingCount("orders", "app1")).toBe(0);
    expect(live.received).toHaveLength(0);
  });

  it("hands at most `concurrency` messages to the handler at once", async () => {
    const p = await pubsub({ concurrency: "3" });
    let running = 0;
    let most = 0;
    const { received } = await subscribe(p, async () => {
      most = Math.max(most, ++running);
      await sleep(30);
      running--;
      return "SUCCESS" as const;
    });
    for (let i = 0; i < 12; i++) await p.publish(message(`m${i}`));
    await eventually(() => received.length === 12);
    expect(most).toBe(3);
  });

  it("trims streams on publish to about maxLenApprox entries", async () => {
    const p = await pubsub({ maxLenApprox: "10" });
    for (let i = 0; i < 500; i++) await p.publish(message(`m${i}`));
    // "~" trims whole nodes of 100 entries: about 10, never near 500.
    expect(await redis.raw().xlen("orders")).toBeLessThanOrEqual(110);
  });

  it("trims entries older than streamTTL on publish", async () => {
    const raw = redis.raw();
    for (let i = 1; i <= 150; i++) await raw.xadd("orders", `1-${i}`, "data", "ancient");
    const p = await pubsub({ streamTTL: "1h" });
    await p.publish(message("new"));
    // The first node (100 entries from 1970) is trimmed whole; the rest shares a node with newer ones.
    expect(await raw.xlen("orders")).toBeLessThanOrEqual(51);
  });

  it("refuses bad pub/sub metadata, naming every problem at once", async () => {
    const error = await pubsub({ concurrency: "0", maxDeliveries: "-1", maxLenApprox: "10", streamTTL: "1h" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetadataError);
    const { problems } = error as MetadataError;
    expect(problems.join("\n")).toMatch(/concurrency/);
    expect(problems.join("\n")).toMatch(/maxDeliveries/);
    expect(problems.join("\n")).toMatch(/maxLenApprox' and 'streamTTL/);
  });

  it("close() returns promptly with a handler still running, drops the reading connections, and keeps the message pending", async () => {
    const p = await pubsub();
    const clientsBefore = String(await redis.raw().call("CLIENT", "LIST")).trim().split("\n").length;
    const hung = await subscribe(p, () => new Promise<DeliveryResult>(() => {}));
    await subscribe(p, () => "SUCCESS", { topic: "other" });
    await p.publish(message("never answered"));
    await eventually(() => hung.received.length === 1);
    const started = Date.now();
    await p.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const clientsAfter = String(await redis.raw().call("CLIENT", "LIST")).trim().split("\n").length;
    expect(clientsAfter).toBe(clientsBefore - 1);
    expect(await pendingCount("orders", "app1")).toBe(1);
    const error = await p.publish(message("late")).catch((e: unknown) => e);
    expect((error as ComponentError).status).toBe("UNAVAILABLE");
  });

  it("fails with UNAVAILABLE naming host:port while Redis is down, and delivers again once it is back", async () => {
    const fault = { readTimeout: "500ms", dialTimeout: "500ms", redisMaxRetryInterval: "200ms" };
    const p = await pubsub(fault);
    const { received } = await subscribe(p);
    await p.publish(message("before"));
    await eventually(() => received.length === 1);

    await redis.server().stop();
    const endpoint = `127.0.0.1:${redis.server().port}`;
    for (const call of [() => p.publish(message("during")), () => p.subscribe({ topic: "t", consumerGroup: "g", metadata: {} }, async () => "SUCCESS")]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ComponentError);
      expect((error as ComponentError).status).toBe("UNAVAILABLE");
      expect((error as ComponentError).message).toContain(endpoint);
    }

    // Back without its data (no persistence): the subscription makes its group again and goes on.
    await redis.server().restart();
    await eventually(() => p.health!().then(() => true, () => false), 5_000);
    await p.publish(message("after"));
    await eventually(() => received.some((m) => text(m.data) === "after"), 5_000);
  });
});
