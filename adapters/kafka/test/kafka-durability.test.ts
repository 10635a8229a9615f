import { ComponentError } from "@ottavo/component-runtime";
import { bytes, closer, eventually, recorder, sleep, text, unique, useKafka } from "./support";

const kafka = useKafka();
const components = closer();
afterEach(() => components.closeAll());
jest.setTimeout(45_000);

const publish = (topic: string, data: string) => ({ topic, data: bytes(data), contentType: "text/plain", metadata: {} });

describe("kafka pubsub durability", () => {
  it("delivers a message never acknowledged to the group again after the component is replaced", async () => {
    const topic = unique("durable");
    const group = unique("app");
    const first = await components.open(kafka.metadata());
    const refusing = recorder(() => "RETRY");
    await first.subscribe({ topic, consumerGroup: group, metadata: {} }, refusing.handler);
    await first.publish(publish(topic, "keep me"));
    await eventually(() => refusing.deliveries.length >= 2);
    await first.close();

    const second = await components.open(kafka.metadata());
    const seen = recorder();
    await second.subscribe({ topic, consumerGroup: group, metadata: {} }, seen.handler);
    await eventually(() => seen.deliveries.length === 1);
    expect(text(seen.deliveries[0].data)).toBe("keep me");
    expect(seen.deliveries[0].id).toBe(refusing.deliveries[0].id);
    // Delivery counts live in memory: a new component starts again at 1.
    expect(seen.deliveries[0].deliveryCount).toBe(1);
  });

  it("keeps, for a new group (initialOffset newest), what is published after its first subscribe resolved", async () => {
    const topic = unique("pinned");
    const group = unique("app");
    const first = await components.open(kafka.metadata({ initialOffset: "newest" }));
    const subscription = await first.subscribe({ topic, consumerGroup: group, metadata: {} }, recorder().handler);
    // The group leaves before anything is published, with no message ever committed.
    await subscription.close();
    await first.publish(publish(topic, "while away"));

    const second = await components.open(kafka.metadata({ initialOffset: "newest" }));
    const seen = recorder();
    await second.subscribe({ topic, consumerGroup: group, metadata: {} }, seen.handler);
    await eventually(() => seen.deliveries.length === 1);
    expect(seen.texts()).toEqual(["while away"]);
  });

  it("starts a new group at the beginning by default (initialOffset oldest), at the end with newest", async () => {
    const pubsub = await components.open(kafka.metadata());
    const topic = unique("history");
    await pubsub.publish(publish(topic, "old"));
    const newest = recorder();
    const oldest = recorder();
    await pubsub.subscribe({ topic, consumerGroup: unique("old"), metadata: {} }, oldest.handler);
    const fromEnd = await components.open(kafka.metadata({ initialOffset: "newest" }));
    await fromEnd.subscribe({ topic, consumerGroup: unique("new"), metadata: {} }, newest.handler);
    await pubsub.publish(publish(topic, "new"));

    await eventually(() => newest.deliveries.length === 1 && oldest.deliveries.length === 2);
    expect(newest.texts()).toEqual(["new"]);
    expect(oldest.texts()).toEqual(["old", "new"]);
  });

  it("uses the component's consumerGroup instead of the subscription's", async () => {
    const topic = unique("fixed-group");
    const group = unique("shared");
    const a = await components.open(kafka.metadata({ consumerGroup: group }));
    const seen = recorder();
    await a.subscribe({ topic, consumerGroup: "ignored", metadata: {} }, seen.handler);
    await a.publish(publish(topic, "one"));
    await eventually(() => seen.deliveries.length === 1);

    const admin = kafka.raw().admin();
    await admin.connect();
    try {
      await eventually(async () => {
        const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        return offsets.partitions[0].offset === "1";
      });
      const [ignored] = await admin.fetchOffsets({ groupId: "ignored", topics: [topic] });
      expect(ignored.partitions[0].offset).toBe("-1");
    } finally {
      await admin.disconnect();
    }
  });

  it("rides out a broker restart: the unacknowledged message comes back, later ones flow", async () => {
    const pubsub = await components.open(kafka.metadata());
    const topic = unique("restart");
    let accept = false;
    const seen = recorder(() => (accept ? "SUCCESS" : "RETRY"));
    await pubsub.subscribe({ topic, consumerGroup: unique("app"), metadata: {} }, seen.handler);
    await pubsub.publish(publish(topic, "before"));
    await eventually(() => seen.deliveries.length >= 1);

    await kafka.broker().restart();
    accept = true;
    await eventually(async () => {
      // Publishing may fail while the clients reconnect; the message must not be lost once it succeeded.
      try {
        await pubsub.publish(publish(topic, "after"));
        return true;
      } catch (error) {
        expect((error as ComponentError).status).toBe("UNAVAILABLE");
        return false;
      }
    }, 30_000);
    await eventually(() => seen.texts().includes("after"), 30_000);
    const accepted = seen.texts();
    expect(accepted.indexOf("before")).toBeLessThan(accepted.indexOf("after"));
    expect(accepted.filter((t) => t === "after").length).toBeGreaterThanOrEqual(1);
    await expect(pubsub.health!()).resolves.toBeUndefined();
  });

  it("fails health and publish with UNAVAILABLE naming the brokers while the broker is down", async () => {
    const pubsub = await components.open(kafka.metadata());
    await pubsub.publish(publish(unique("up"), "x"));
    await kafka.broker().stop();
    const health = await pubsub.health!().catch((e: unknown) => e);
    expect(health).toBeInstanceOf(ComponentError);
    expect((health as ComponentError).status).toBe("UNAVAILABLE");
    expect((health as ComponentError).message).toContain(kafka.broker().brokers[0]);
    const published = await pubsub.publish(publish(unique("down"), "x")).catch((e: unknown) => e);
    expect((published as ComponentError).status).toBe("UNAVAILABLE");
    expect((published as ComponentError).message).toContain(kafka.broker().brokers[0]);
    await sleep(0);
  });
});
