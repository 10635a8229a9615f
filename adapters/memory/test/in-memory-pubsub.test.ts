import { Code, ConnectError } from "@connectrpc/connect";
import type { DeliveryResult, PublishRequest, TopicMessage } from "@ottavo/generated/components/pubsub";
import type { InMemoryPubsub } from "@ottavo/generated/components/adapters/in-memory";
import { inMemoryPubsubAdapter, InMemoryPubsub as Pubsub } from "../src/in-memory-pubsub";
import { bytes, closer, context, eventually, text } from "./support";

const components = closer();
afterEach(() => components.closeAll());

async function pubsub(): Promise<InMemoryPubsub> {
  return components.track(await inMemoryPubsubAdapter.create({}, context()));
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
  it("declares ORDERED", async () => {
    expect([...(await pubsub()).features]).toEqual(["ORDERED"]);
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
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toHaveLength(2);
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
    await eventually(() => received.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(payloads(received)).toEqual(["poison", "next"]);
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
    await p.publish(message("mine", "orders"));
    await eventually(() => received.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
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
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(first.received).toHaveLength(1);
    const next = recorder();
    await subscribe(p, next.handler);
    await eventually(() => next.received.length === 1);
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
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
  });

  it("refuses a publish when a group's backlog is full, without half-publishing", async () => {
    const p = components.track(new Pubsub({ maxPendingPerGroup: 2 }));
    await p.publish(message("1"));
    await p.publish(message("2"));
    const error = await p.publish(message("3")).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
    const { received, handler } = recorder();
    await subscribe(p, handler);
    await eventually(() => received.length === 2);
    expect(payloads(received)).toEqual(["1", "2"]);
  });
});
