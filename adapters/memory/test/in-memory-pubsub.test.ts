import { ComponentError } from "@ottavo/component-runtime";
import { MetadataError } from "@ottavo/component-runtime";
import type { DeliveryResult, PublishRequest, TopicMessage } from "@ottavo/generated/components/pubsub";
import type { InMemoryPubsub } from "@ottavo/generated/components/adapters/in-memory";
import { inMemoryPubsubAdapter, InMemoryPubsub as Pubsub } from "../src/in-memory-pubsub";
import { bytes, closer, context, eventually, text } from "./support";

const components = closer();
afterEach(() => components.closeAll());

/** Short backoffs keep redelivery tests fast; each test may lay its own metadata over them. */
async function pubsub(metadata: Record<string, unknown> = {}): Promise<InMemoryPubsub> {
  return components.track(
    await inMemoryPubsubAdapter.create({ redeliveryBackoff: "10ms", maxRedeliveryBackoff: "40ms", ...metadata }, context()),
  );
}

const message = (data: string, topic = "orders"): PublishRequest => ({
  topic,
  data: bytes(data),
  contentType: "text/plain",
  metadata: { source: "test" },
});

const subscribe = (p: InMemoryPubsub, handler: (m: TopicMessage) => Promise<DeliveryResult>, group = "app1", topic = "orders") =>
  p.subscribe({ topic, consumerGroup: group, metadata: {} }, handler);

/** A handler that records what it receives and answers SUCCESS. */
function recorder(): { received: TopicMessage[]; handler: (m: TopicMessage) => Promise<DeliveryResult> } {
  const received: TopicMessage[] = [];
  return {
    received,
    handler: async (m) => {
      received.push(m);
      return "SUCCESS";
    },
  };
}

const payloads = (messages: TopicMessage[]) => messages.map((m) => text(m.data));

describe("in-memory pubsub", () => {
  it("declares ORDERED and DEAD_LETTER", async () => {
    expect([...(await pubsub()).features].sort()).toEqual(["DEAD_LETTER", "ORDERED"]);
  });

  it("is created with the Redelivery metadata defaults, and refuses a negative maxDeliveries", async () => {
    await expect(pubsub({ redeliveryBackoff: undefined, maxRedeliveryBackoff: undefined })).resolves.toBeDefined();
    const error = await pubsub({ maxDeliveries: -1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetadataError);
    expect((error as MetadataError).message).toMatch(/maxDeliveries/);
  });

  it("delivers a topic's messages in publish order, one at a time, with what was published", async () => {
    const p = await pubsub();
    const received: TopicMessage[] = [];
    let running = 0;
    let overlapped = false;
    await subscribe(p, async (m) => {
      overlapped ||= running > 0;
      running++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      running--;
      received.push(m);
      return "SUCCESS";
    });
    for (let i = 1; i <= 10; i++) await p.publish(message(`m${i}`));
    await eventually(() => received.length === 10);
    expect(payloads(received)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
    expect(overlapped).toBe(false);
    expect(received[0]).toMatchObject({ topic: "orders", contentType: "text/plain", deliveryCount: 1, metadata: { source: "test" } });
    expect(new Set(received.map((m) => m.id)).size).toBe(10);
  });

  it("keeps its own copy of the published data", async () => {
    const p = await pubsub();
    const { received, handler } = recorder();
    const request = message("abc");
    await p.publish(request);
    request.data[0] = 0x7a;
    await subscribe(p, handler);
    await eventually(() => received.length === 1);
    expect(text(received[0].data)).toBe("abc");
  });

  it("redelivers the same message after RETRY, with deliveryCount 2, before the next one", async () => {
    const p = await pubsub();
    const received: TopicMessage[] = [];
    await subscribe(p, async (m) => {
      received.push(m);
      return received.length === 1 ? "RETRY" : "SUCCESS";
    });
    await p.publish(message("first"));
    await p.publish(message("second"));
    await eventually(() => received.length === 3);
    expect(payloads(received)).toEqual(["first", "first", "second"]);
    expect(received[1].id).toBe(received[0].id);
    expect(received.map((m) => m.deliveryCount)).toEqual([1, 2, 1]);
  });

  it("redelivers a message whose handler throws", async () => {
    const p = await pubsub();
    const received: TopicMessage[] = [];
    await subscribe(p, async (m) => {
      received.push(m);
      if (received.length === 1) throw new Error("app unavailable");
      return "SUCCESS";
    });
    await p.publish(message("only"));
    await eventually(() => received.length === 2);
    expect(received[1]).toMatchObject({ id: received[0].id, deliveryCount: 2 });
    // Settled: a sentinel published now comes next, with no third delivery before it (one at a time, in order).
    await p.publish(message("sentinel"));
    await eventually(() => received.length === 3);
    expect(payloads(received)).toEqual(["only", "only", "sentinel"]);
  });

  it("acknowledges a DROP: the message is not delivered again", async () => {
    const p = await pubsub();
    const received: TopicMessage[] = [];
    await subscribe(p, async (m) => {
      received.push(m);
      return "DROP";
    });
    await p.publish(message("poison"));
    await p.publish(message("next"));
    await p.publish(message("sentinel"));
    await eventually(() => received.length === 3);
    expect(payloads(received)).toEqual(["poison", "next", "sentinel"]);
  });

  it("gives every group every message, and shares a group's messages round robin", async () => {
    const p = await pubsub();
    const a1 = recorder();
    const a2 = recorder();
    const b = recorder();
    await subscribe(p, a1.handler, "a");
    await subscribe(p, a2.handler, "a");
    await subscribe(p, b.handler, "b");
    for (const data of ["1", "2", "3", "4"]) await p.publish(message(data));
    await eventually(() => a1.received.length + a2.received.length === 4 && b.received.length === 4);
    expect(payloads(b.received)).toEqual(["1", "2", "3", "4"]);
    expect(payloads(a1.received)).toEqual(["1", "3"]);
    expect(payloads(a2.received)).toEqual(["2", "4"]);
  });

  it("keeps topics apart", async () => {
    const p = await pubsub();
    const { received, handler } = recorder();
    await subscribe(p, handler, "app1", "orders");
    await p.publish(message("other", "payments"));
    // The sentinel: published after, on the subscribed topic, it arrives with nothing before it.
    await p.publish(message("mine", "orders"));
    await eventually(() => received.length === 1);
    expect(payloads(received)).toEqual(["mine"]);
  });

  it("holds messages published before any subscription for the first group", async () => {
    const p = await pubsub();
    await p.publish(message("early"));
    const first = recorder();
    const second = recorder();
    await subscribe(p, first.handler, "first");
    await subscribe(p, second.handler, "second");
    await p.publish(message("late"));
    await eventually(() => first.received.length === 2 && second.received.length === 1);
    expect(payloads(first.received)).toEqual(["early", "late"]);
    expect(payloads(second.received)).toEqual(["late"]);
  });

  it("keeps a group's messages while it has no subscriber, for the next one", async () => {
    const p = await pubsub();
    const first = recorder();
    const subscription = await subscribe(p, first.handler);
    await p.publish(message("1"));
    await eventually(() => first.received.length === 1);
    await subscription.close();
    await p.publish(message("2"));
    const next = recorder();
    await subscribe(p, next.handler);
    await eventually(() => next.received.length === 1);
    // "2" went to the next subscriber, so the closed one did not take it.
    expect(first.received).toHaveLength(1);
    expect(payloads(next.received)).toEqual(["2"]);
  });

  it("stops every delivery and retry when closed", async () => {
    const p = await pubsub();
    const received: TopicMessage[] = [];
    await subscribe(p, async (m) => {
      received.push(m);
      return "RETRY";
    });
    await p.publish(message("x"));
    await eventually(() => received.length === 1);
    await p.close();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(received).toHaveLength(1);
    const error = await p.publish(message("y")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComponentError);
    expect((error as ComponentError).status).toBe("UNAVAILABLE");
  });

  it("waits redeliveryBackoff after the first delivery, doubling per delivery up to maxRedeliveryBackoff", async () => {
    const p = await pubsub({ redeliveryBackoff: "40ms", maxRedeliveryBackoff: "100ms" });
    const at: number[] = [];
    await subscribe(p, async () => {
      at.push(Date.now());
      return at.length < 5 ? "RETRY" : "SUCCESS";
    });
    await p.publish(message("slow"));
    await eventually(() => at.length === 5);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    // Waits of 40, 80, 100 (capped), 100 ms; timers fire late, never early.
    [40, 80, 100, 100].forEach((wait, i) => expect(gaps[i]).toBeGreaterThanOrEqual(wait - 2));
    expect(gaps[3]).toBeLessThan(180);
  });

  it("moves a message delivered maxDeliveries times without success to the subscription's dead-letter topic", async () => {
    const p = await pubsub({ maxDeliveries: 3 });
    const dead = recorder();
    await subscribe(p, dead.handler, "ops", "orders-dlt");
    const attempts: TopicMessage[] = [];
    await p.subscribe({ topic: "orders", consumerGroup: "app1", deadLetterTopic: "orders-dlt", metadata: {} }, async (m) => {
      attempts.push(m);
      if (text(m.data) === "poison") throw new Error("cannot process");
      return "SUCCESS";
    });
    await p.publish(message("poison"));
    await p.publish(message("fine"));
    await eventually(() => dead.received.length === 1 && attempts.length === 4);
    expect(attempts.map((m) => [text(m.data), m.deliveryCount])).toEqual([["poison", 1], ["poison", 2], ["poison", 3], ["fine", 1]]);
    expect(dead.received[0]).toMatchObject({ topic: "orders-dlt", contentType: "text/plain", metadata: { source: "test" } });
    expect(text(dead.received[0].data)).toBe("poison");
    // Dead-lettered: a sentinel comes next, with no fourth attempt at the poison before it.
    await p.publish(message("sentinel"));
    await eventually(() => attempts.length === 5);
    expect(attempts.map((m) => text(m.data))).toEqual(["poison", "poison", "poison", "fine", "sentinel"]);
  });

  it("keeps redelivering past maxDeliveries when the subscription has no dead-letter topic", async () => {
    const p = await pubsub({ maxDeliveries: 2 });
    const received: TopicMessage[] = [];
    await subscribe(p, async (m) => {
      received.push(m);
      return received.length < 5 ? "RETRY" : "SUCCESS";
    });
    await p.publish(message("stubborn"));
    await eventually(() => received.length === 5);
    expect(received.map((m) => m.deliveryCount)).toEqual([1, 2, 3, 4, 5]);
  });

  it("keeps a message to redeliver when its dead-letter topic refuses it", async () => {
    const p = components.track(
      new Pubsub({ redeliveryBackoffMs: 5, maxRedeliveryBackoffMs: 5, maxDeliveries: 1, maxPendingPerGroup: 1 }),
    );
    await p.publish(message("filler", "full-dlt"));
    const received: TopicMessage[] = [];
    await p.subscribe({ topic: "orders", consumerGroup: "app1", deadLetterTopic: "full-dlt", metadata: {} }, async (m) => {
      received.push(m);
      return "RETRY";
    });
    await p.publish(message("x"));
    await eventually(() => received.length >= 3);
    expect(new Set(received.map((m) => m.id)).size).toBe(1);
  });

  it("has every topic by default, and only the listed ones with the topics metadata: any other is TopicNotFound", async () => {
    const open = await pubsub();
    await expect(open.publish(message("made on first use", "anything"))).resolves.toBeUndefined();
    const listed = await pubsub({ topics: " orders, dead ,," });
    const { received, handler } = recorder();
    await subscribe(listed, handler);
    await listed.publish(message("kept"));
    await eventually(() => expect(payloads(received)).toEqual(["kept"]));
    const refusals = [
      listed.publish(message("lost", "invoices")),
      subscribe(listed, handler, "app1", "invoices"),
      listed.subscribe({ topic: "orders", consumerGroup: "app2", metadata: {}, deadLetterTopic: "graveyard" }, handler),
    ];
    for (const refusal of refusals) {
      const error = await refusal.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ComponentError);
      expect([(error as ComponentError).errorName, (error as ComponentError).status]).toEqual(["TopicNotFound", "NOT_FOUND"]);
    }
    expect(String(await listed.publish(message("x", "invoices")).catch((e: unknown) => e))).toMatch(/topic 'invoices' does not exist.*'orders', 'dead'/);
    await expect(listed.subscribe({ topic: "orders", consumerGroup: "app3", metadata: {}, deadLetterTopic: "dead" }, handler)).resolves.toBeDefined();
  });

  it("refuses a publish when a group's backlog is full, without half-publishing", async () => {
    const p = components.track(new Pubsub({ maxPendingPerGroup: 2 }));
    await p.publish(message("1"));
    await p.publish(message("2"));
    const error = await p.publish(message("3")).catch((e: unknown) => e);
    expect((error as ComponentError).status).toBe("RESOURCE_EXHAUSTED");
    const { received, handler } = recorder();
    await subscribe(p, handler);
    await eventually(() => received.length === 2);
    expect(payloads(received)).toEqual(["1", "2"]);
  });
});
