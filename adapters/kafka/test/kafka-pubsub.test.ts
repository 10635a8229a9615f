import { ComponentError } from "@ottavo/component-runtime";
import type { TopicMessage } from "@ottavo/generated/components/pubsub";
import { bytes, closer, eventually, recorder, sleep, text, unique, useKafka } from "./support";

// Three partitions per topic, so keys really spread and order per key is tested.
const kafka = useKafka({ partitions: 3 });
const components = closer();
afterEach(() => components.closeAll());
jest.setTimeout(30_000);

const publish = (topic: string, data: string, metadata: Record<string, string> = {}) => ({
  topic,
  data: bytes(data),
  contentType: "text/plain",
  metadata,
});

describe("kafka pubsub", () => {
  it("delivers what was published after subscribing, with its content type, metadata and a stable id", async () => {
    const pubsub = await components.open(kafka.metadata());
    const topic = unique("orders");
    const seen = recorder();
    await pubsub.subscribe({ topic, consumerGroup: unique("app"), metadata: {} }, seen.handler);
    await pubsub.publish({ ...publish(topic, "hello", { traceparent: "00-abc-def-01", partitionKey: "k1" }), contentType: "application/cloudevents+json" });

    await eventually(() => seen.deliveries.length === 1);
    const [message] = seen.deliveries;
    expect(text(message.data)).toBe("hello");
    expect(message.topic).toBe(topic);
    expect(message.contentType).toBe("application/cloudevents+json");
    expect(message.deliveryCount).toBe(1);
    expect(message.id).toMatch(new RegExp(`^${topic}-[0-2]-0$`));
    // Headers come back as metadata, with Dapr's __ entries beside them.
    expect(message.metadata).toMatchObject({
      traceparent: "00-abc-def-01",
      partitionKey: "k1",
      __key: "k1",
      __topic: topic,
      __offset: "0",
    });
    expect(message.metadata.__partition).toBe(message.id.split("-").at(-2));
    expect(Number(message.metadata.__timestamp)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("creates a missing topic on publish, and stores partitionKey as the message key", async () => {
    const pubsub = await components.open(kafka.metadata());
    const topic = unique("created");
    for (let i = 0; i < 6; i++) await pubsub.publish(publish(topic, `m${i}`, { partitionKey: "same-key" }));
    await pubsub.publish(publish(topic, "no key"));

    const admin = kafka.raw().admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).toContain(topic);
      expect(await admin.fetchTopicOffsets(topic)).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.raw().consumer({ groupId: unique("raw"), heartbeatInterval: 100, maxWaitTimeInMs: 100 });
    const read: { key: string | null; partition: number }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => void read.push({ key: message.key?.toString() ?? null, partition }),
      });
      await eventually(() => read.length === 7, 15_000);
    } finally {
      await consumer.disconnect();
    }
    const keyed = read.filter((r) => r.key === "same-key");
    expect(keyed).toHaveLength(6);
    // One key, one partition.
    expect(new Set(keyed.map((r) => r.partition)).size).toBe(1);
    expect(read.filter((r) => r.key === null)).toHaveLength(1);
  });

  it("bulk-publishes to several topics in one call", async () => {
    const pubsub = await components.open(kafka.metadata());
    const [a, b] = [unique("bulk-a"), unique("bulk-b")];
    const group = unique("app");
    const seenA = recorder();
    const seenB = recorder();
    // Two subscriptions of one group on different topics: each gets its own topic only.
    await pubsub.subscribe({ topic: a, consumerGroup: group, metadata: {} }, seenA.handler);
    await pubsub.subscribe({ topic: b, consumerGroup: group, metadata: {} }, seenB.handler);
    await pubsub.bulkPublish([publish(a, "a1", { partitionKey: "k" }), publish(b, "b1"), publish(a, "a2", { partitionKey: "k" })]);

    await eventually(() => seenA.deliveries.length === 2 && seenB.deliveries.length === 1);
    expect(seenA.texts()).toEqual(["a1", "a2"]);
    expect(seenB.texts()).toEqual(["b1"]);
  });

  it("redelivers a message answered RETRY or thrown on, with the same id and a growing delivery count", async () => {
    const pubsub = await components.open(kafka.metadata());
    const topic = unique("retry");
    let calls = 0;
    const seen = recorder(async () => {
      calls++;
      if (calls === 1) return "RETRY";
      if (calls === 2) throw new Error("handler failed");
      if (calls === 3) return "SOMETHING_ELSE" as never;
      return "SUCCESS";
    });
    await pubsub.subscribe({ topic, consumerGroup: unique("app"), metadata: {} }, seen.handler);
    await pubsub.publish(publish(topic, "again", { partitionKey: "k" }));

    await eventually(() => seen.deliveries.length === 4);
    expect(seen.deliveries.map((m) => m.deliveryCount)).toEqual([1, 2, 3, 4]);
    expect(new Set(seen.deliveries.map((m) => m.id)).size).toBe(1);
    // Settled: not delivered a fifth time. A sentinel behind it on its key (one partition,
    // which a message waiting for redelivery holds back) arrives with nothing before it.
    await pubsub.publish(publish(topic, "sentinel", { partitionKey: "k" }));
    await eventually(() => seen.texts().includes("sentinel"));
    expect(seen.texts()).toEqual(["again", "again", "again", "again", "sentinel"]);
  });

  it("keeps order per key: a message waiting for redelivery holds back the later ones of its partition", async () => {
    const pubsub = await components.open(kafka.metadata({ redeliveryBackoff: "150ms", maxRedeliveryBackoff: "150ms" }));
    const topic = unique("ordered");
    let refusals = 0;
    const seen = recorder((m) => {
      if (text(m.data) === "a2" && refusals < 3) {
        refusals++;
        return "RETRY";
      }
      return "SUCCESS";
    });
    await pubsub.subscribe({ topic, consumerGroup: unique("app"), metadata: {} }, seen.handler);
    for (const name of ["a1", "a2", "a3", "a4"]) await pubsub.publish(publish(topic, name, { partitionKey: "key-a" }));

    await eventually(() => seen.texts().filter((t) => t === "a4").length === 1);
    const ofA = seen.texts().filter((t) => t.startsWith("a"));
    expect(ofA).toEqual(["a1", "a2", "a2", "a2", "a2", "a3", "a4"]);
    // Each redelivery waited for the backoff.
    const a2 = seen.deliveries.filter((m) => text(m.data) === "a2");
    expect(a2.map((m) => m.deliveryCount)).toEqual([1, 2, 3, 4]);
  });

  it("does not hold back other keys while one waits for redelivery", async () => {
    const pubsub = await components.open(kafka.metadata({ redeliveryBackoff: "3s", maxRedeliveryBackoff: "3s" }));
    const topic = unique("keys");
    const seen = recorder((m) => (text(m.data) === "stuck" && m.deliveryCount === 1 ? "RETRY" : "SUCCESS"));
    await pubsub.subscribe({ topic, consumerGroup: unique("app"), metadata: {} }, seen.handler);
    await pubsub.publish(publish(topic, "stuck", { partitionKey: "k-stuck" }));
    await eventually(() => seen.deliveries.length === 1);
    const stuckPartition = seen.deliveries[0].metadata.__partition;
    // Keys on other partitions flow during the 3 s backoff.
    for (let i = 0; i < 10; i++) await pubsub.publish(publish(topic, `k-${i}`, { partitionKey: `k-${i}` }));
    await eventually(() => seen.deliveries.some((m) => m.metadata.__partition !== stuckPartition), 2_000);
    expect(seen.deliveries.filter((m) => text(m.data) === "stuck")).toHaveLength(1);
    await eventually(() => seen.deliveries.filter((m) => text(m.data) === "stuck").length === 2, 6_000);
  });

  it("moves a message to the dead-letter topic after maxDeliveries, key and headers kept, then goes on", async () => {
    const pubsub = await components.open(kafka.metadata({ maxDeliveries: 3 }));
    const topic = unique("poison");
    const deadLetterTopic = unique("poison-dlt");
    const group = unique("app");
    const seen = recorder((m) => (text(m.data) === "poison" ? "RETRY" : "SUCCESS"));
    const dead = recorder();
    await pubsub.subscribe({ topic, consumerGroup: group, deadLetterTopic, metadata: {} }, seen.handler);
    await pubsub.subscribe({ topic: deadLetterTopic, consumerGroup: group, metadata: {} }, dead.handler);
    await pubsub.publish(publish(topic, "poison", { partitionKey: "p", origin: "test" }));
    await pubsub.publish(publish(topic, "fine", { partitionKey: "p" }));

    await eventually(() => dead.deliveries.length === 1 && seen.texts().includes("fine"));
    expect(seen.deliveries.filter((m) => text(m.data) === "poison").map((m) => m.deliveryCount)).toEqual([1, 2, 3]);
    const [moved] = dead.deliveries;
    expect(text(moved.data)).toBe("poison");
    expect(moved.contentType).toBe("text/plain");
    expect(moved.metadata).toMatchObject({ __key: "p", origin: "test", partitionKey: "p" });
    expect(seen.texts()).toEqual(["poison", "poison", "poison", "fine"]);
  });

  it("keeps redelivering without a dead-letter topic, at the capped backoff", async () => {
    const pubsub = await components.open(kafka.metadata({ maxDeliveries: 2 }));
    const topic = unique("no-dlt");
    const seen = recorder(() => "RETRY");
    await pubsub.subscribe({ topic, consumerGroup: unique("app"), metadata: {} }, seen.handler);
    await pubsub.publish(publish(topic, "forever"));
    await eventually(() => seen.deliveries.length >= 5);
    expect(seen.deliveries.slice(0, 5).map((m) => m.deliveryCount)).toEqual([1, 2, 3, 4, 5]);
  });

  it("commits a DROPped message: a new member of the group does not get it again", async () => {
    const topic = unique("drop");
    const group = unique("app");
    const first = await components.open(kafka.metadata());
    const dropped = recorder(() => "DROP");
    await first.subscribe({ topic, consumerGroup: group, metadata: {} }, dropped.handler);
    await first.publish(publish(topic, "unwanted", { partitionKey: "k" }));
    await eventually(() => dropped.deliveries.length === 1);
    await first.close();

    const second = await components.open(kafka.metadata());
    const seen = recorder();
    await second.subscribe({ topic, consumerGroup: group, metadata: {} }, seen.handler);
    // "next" is the sentinel: on the same key (one partition), an uncommitted "unwanted" would come before it.
    await second.publish(publish(topic, "next", { partitionKey: "k" }));
    await eventually(() => seen.texts().includes("next"));
    expect(seen.texts()).toEqual(["next"]);
  });

  it("delivers each message to one member of a group, and to every group", async () => {
    const pubsub = await components.open(kafka.metadata());
    const topic = unique("fanout");
    const [g1, g2] = [unique("app"), unique("app")];
    const a = recorder();
    const b = recorder();
    const other = recorder();
    await pubsub.subscribe({ topic, consumerGroup: g1, metadata: {} }, a.handler);
    await pubsub.subscribe({ topic, consumerGroup: g1, metadata: {} }, b.handler);
    await pubsub.subscribe({ topic, consumerGroup: g2, metadata: {} }, other.handler);
    for (let i = 0; i < 12; i++) await pubsub.publish(publish(topic, `m${i}`, { partitionKey: `k${i}` }));

    await eventually(() => a.deliveries.length + b.deliveries.length === 12 && other.deliveries.length === 12);
    expect([...a.texts(), ...b.texts()].sort()).toEqual(other.texts().sort());
  });

  it("stops delivering once a subscription is closed", async () => {
    const pubsub = await components.open(kafka.metadata());
    const topic = unique("closed");
    const seen = recorder();
    const group = unique("app");
    const subscription = await pubsub.subscribe({ topic, consumerGroup: group, metadata: {} }, seen.handler);
    await pubsub.publish(publish(topic, "before", { partitionKey: "k" }));
    await eventually(() => seen.deliveries.length === 1);
    await subscription.close();
    await pubsub.publish(publish(topic, "after", { partitionKey: "k" }));
    // A new member of the same group gets "after" and then a sentinel behind it on the same
    // partition: a closed subscription still consuming would have taken "after" (and the sentinel) from it.
    const next = recorder();
    await pubsub.subscribe({ topic, consumerGroup: group, metadata: {} }, next.handler);
    await pubsub.publish(publish(topic, "sentinel", { partitionKey: "k" }));
    await eventually(() => next.texts().includes("sentinel"), 15_000);
    expect(seen.texts()).toEqual(["before"]);
    // "before" may come again (at least once) if its commit had not reached the broker before the close.
    expect(next.texts().filter((t) => t !== "before")).toEqual(["after", "sentinel"]);
  });

  it("reports health, refuses calls once closed, and rejects invalid topic names", async () => {
    const pubsub = await components.open(kafka.metadata());
    await expect(pubsub.health!()).resolves.toBeUndefined();
    const bad = await pubsub.publish(publish("not a valid topic!", "x")).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ComponentError);
    expect((bad as ComponentError).status).toBe("INVALID_ARGUMENT");
    await pubsub.close();
    const closed = await pubsub.publish(publish(unique("t"), "x")).catch((e: unknown) => e);
    expect((closed as ComponentError).status).toBe("FAILED_PRECONDITION");
  });

  it("heartbeats while a slow handler runs, so the group keeps its member", async () => {
    // Session 2 s, handler 3.5 s: without heartbeats the member would be expelled and the message delivered twice.
    const pubsub = await components.open(kafka.metadata({ sessionTimeout: "2s", heartbeatInterval: "200ms" }));
    const topic = unique("slow");
    const seen = recorder(async (m: TopicMessage) => {
      if (text(m.data) === "slow") await sleep(3_500);
      return "SUCCESS" as const;
    });
    await pubsub.subscribe({ topic, consumerGroup: unique("app"), metadata: {} }, seen.handler);
    // One key, one partition: "next" waits for "slow".
    await pubsub.publish(publish(topic, "slow", { partitionKey: "k" }));
    await pubsub.publish(publish(topic, "next", { partitionKey: "k" }));
    await eventually(() => seen.texts().includes("next"), 10_000);
    // An expelled member's partition would be consumed again from the last commit: "slow"
    // would come again before a sentinel on its key. The sentinel comes with nothing before it.
    await pubsub.publish(publish(topic, "sentinel", { partitionKey: "k" }));
    await eventually(() => seen.texts().includes("sentinel"), 10_000);
    expect(seen.texts()).toEqual(["slow", "next", "sentinel"]);
  });
});
