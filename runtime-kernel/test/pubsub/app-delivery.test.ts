/**
 * Delivery through the app's AppCallback server, in this process: a real Connect
 * AppCallback server plays the app, a recording pubsub component plays the
 * broker, so every answer the kernel gives the component can be checked.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Subscription } from "@ottavo/component-runtime";
import type {
  DeliveryResult,
  MessageHandler,
  PubSub,
  PubsubFeature,
  SubscribeRequest,
  TopicMessage,
} from "@ottavo/generated/components/pubsub";
import {
  TopicEventResponse_TopicEventResponseStatus as Status,
  type TopicEventRequest,
} from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { AppDelivery, type DeliveryOptions } from "../../src/delivery/delivery";
import { ComponentTable, type ComponentEntry } from "../../src/registry/component-table";
import { freePort, startConnectApp, type ConnectApp } from "./app-callback-app";
import { eventually } from "@ottavo/test-support";

/** A pubsub that records subscriptions and lets the test hand their handlers messages. */
class RecordingPubSub implements PubSub {
  readonly features: ReadonlySet<PubsubFeature>;
  readonly subscriptions: { request: SubscribeRequest; handler: MessageHandler; closed: boolean }[] = [];
  /** Errors the next subscribe calls throw, in order. */
  readonly subscribeFailures: unknown[] = [];
  subscribeCalls = 0;

  constructor(features: PubsubFeature[] = ["DEAD_LETTER"]) {
    this.features = new Set(features);
  }

  async publish(): Promise<void> {}

  async subscribe(request: SubscribeRequest, handler: MessageHandler): Promise<Subscription> {
    this.subscribeCalls++;
    const failure = this.subscribeFailures.shift();
    if (failure !== undefined) throw failure;
    const entry = { request, handler, closed: false };
    this.subscriptions.push(entry);
    return { close: async () => void (entry.closed = true) };
  }

  async close(): Promise<void> {}

  /** Hands the handler of the subscription to `topic` a message, as the broker would, and returns its answer. */
  deliver(topic: string, message: Partial<TopicMessage>): Promise<DeliveryResult> {
    const subscription = this.subscriptions.find((s) => s.request.topic === topic && !s.closed);
    if (subscription === undefined) throw new Error(`no open subscription to ${topic}`);
    return subscription.handler({
      id: "m-1",
      topic,
      data: new Uint8Array(0),
      contentType: "application/cloudevents+json",
      deliveryCount: 1,
      metadata: {},
      ...message,
    });
  }
}

const bytes = (text: string) => new Uint8Array(Buffer.from(text));
const text = (data: Uint8Array) => Buffer.from(data).toString("utf8");

function quietLog() {
  const lines: string[] = [];
  return { lines, info: (line: string) => void lines.push(line), warn: (line: string) => void lines.push(line) };
}



const fast: Partial<DeliveryOptions> = { retry: { initialMs: 20, maxMs: 100 }, eventTimeoutMs: 2_000 };

interface Setup {
  pubsub: RecordingPubSub;
  delivery: AppDelivery;
  log: ReturnType<typeof quietLog>;
}

const running: { delivery?: AppDelivery; app?: ConnectApp }[] = [];
afterEach(async () => {
  for (const item of running.splice(0)) {
    await item.delivery?.shutdown(100);
    await item.app?.close();
  }
});

function startDelivery(port: number, pubsub = new RecordingPubSub(), options: Partial<DeliveryOptions> = fast): Setup {
  const table = new ComponentTable("checkout");
  table.add({ capability: "pubsub", name: "orders_bus", type: "recording", component: pubsub, metadata: {} } as ComponentEntry);
  const log = quietLog();
  const delivery = AppDelivery.start({ table, callback: { host: "127.0.0.1", port }, log, options });
  running.push({ delivery });
  return { pubsub, delivery, log };
}

async function app(impl: Parameters<typeof startConnectApp>[0], port = 0): Promise<ConnectApp> {
  const started = await startConnectApp(impl, port);
  running.push({ app: started });
  return started;
}

/** An app subscribed to orders_bus/orders whose OnTopicEvent is `onTopicEvent`. */
/** An OnTopicEvent that never answers; it lets go once the call is cancelled, so no server timer outlives the test. */
const hang = (_request: TopicEventRequest, context: HandlerContext) =>
  new Promise<{ status?: Status }>((_resolve, reject) => context.signal.addEventListener("abort", () => reject(context.signal.reason)));

async function subscribedApp(
  onTopicEvent: (request: TopicEventRequest, context: HandlerContext) => Promise<{ status?: Status }>,
  options = fast,
) {
  const server = await app({
    listTopicSubscriptions: async () => ({ subscriptions: [{ pubsubName: "orders_bus", topic: "orders" }] }),
    onTopicEvent,
  });
  const setup = startDelivery(server.port, new RecordingPubSub(), options);
  await setup.delivery.settled;
  expect(setup.pubsub.subscriptions).toHaveLength(1);
  return setup;
}

describe("subscribing the app", () => {
  it("subscribes each listed topic under the app id, with metadata and the dead-letter topic from metadata", async () => {
    const server = await app({
      listTopicSubscriptions: async () => ({
        subscriptions: [
          { pubsubName: "orders_bus", topic: "orders", metadata: { deadLetterTopic: "orders-dead", rawPayload: "false" } },
          { pubsubName: "orders_bus", topic: "refunds" },
        ],
      }),
    });
    const { pubsub, delivery, log } = startDelivery(server.port);
    await delivery.settled;
    expect(pubsub.subscriptions.map((s) => s.request)).toEqual([
      {
        topic: "orders",
        consumerGroup: "checkout",
        deadLetterTopic: "orders-dead",
        metadata: { deadLetterTopic: "orders-dead", rawPayload: "false" },
      },
      { topic: "refunds", consumerGroup: "checkout", metadata: {} },
    ]);
    expect(log.lines).toContain("ottavo: subscribed the app to topic 'orders' of pubsub 'orders_bus'");
    expect(delivery.subscriptions.map((s) => s.topic)).toEqual(["orders", "refunds"]);
  });

  it("retries ListTopicSubscriptions with backoff until the app answers, saying so once", async () => {
    const port = await freePort();
    const { pubsub, delivery, log } = startDelivery(port);
    await eventually(() => log.lines.some((l) => l.includes("waiting for the app's AppCallback server")));
    await new Promise((resolve) => setTimeout(resolve, 150)); // a few failed attempts
    await app({ listTopicSubscriptions: async () => ({ subscriptions: [{ pubsubName: "orders_bus", topic: "orders" }] }) }, port);
    await delivery.settled;
    expect(pubsub.subscriptions).toHaveLength(1);
    // Jest's sandbox hides the class of Node's own errors from connect-node, which then says Internal for Unavailable.
    const waiting = log.lines.filter((l) => l.includes("waiting for the app"));
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatch(
      new RegExp(`^ottavo: waiting for the app's AppCallback server at http://127.0.0.1:${port} \\(ListTopicSubscriptions: \\w+ \\(.*ECONNREFUSED.*\\)\\); retrying with backoff$`),
    );
  });

  it("stops retrying at shutdown", async () => {
    const { delivery, pubsub } = startDelivery(await freePort());
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await delivery.shutdown(1_000)).toEqual({ drained: true });
    await delivery.settled;
    expect(pubsub.subscribeCalls).toBe(0);
  });

  it("takes an app without ListTopicSubscriptions (UNIMPLEMENTED) as one that wants no topics", async () => {
    const server = await app({});
    const { pubsub, delivery, log } = startDelivery(server.port);
    await delivery.settled;
    expect(pubsub.subscribeCalls).toBe(0);
    expect(log.lines).toContain(`ottavo: the app at http://127.0.0.1:${server.port} subscribes to no topics`);
  });

  it("warns about a pubsub that is not configured, naming it, and subscribes the rest", async () => {
    const server = await app({
      listTopicSubscriptions: async () => ({
        subscriptions: [
          { pubsubName: "nope", topic: "orders" },
          { pubsubName: "orders_bus", topic: "orders" },
          { pubsubName: "orders_bus", topic: "orders" },
        ],
      }),
    });
    const { pubsub, delivery, log } = startDelivery(server.port);
    await delivery.settled;
    expect(pubsub.subscriptions).toHaveLength(1);
    expect(log.lines).toContain(
      "ottavo: warning: the app subscribes to topic 'orders' of pubsub 'nope', which is not configured (pubsubs: orders_bus); skipped",
    );
    expect(log.lines).toContain("ottavo: warning: the app lists topic 'orders' of pubsub 'orders_bus' twice; subscribed once");
  });

  it("warns when the pubsub cannot dead-letter, and still subscribes", async () => {
    const server = await app({
      listTopicSubscriptions: async () => ({
        subscriptions: [{ pubsubName: "orders_bus", topic: "orders", metadata: { deadLetterTopic: "dead" } }],
      }),
    });
    const { pubsub, delivery, log } = startDelivery(server.port, new RecordingPubSub([]));
    await delivery.settled;
    expect(pubsub.subscriptions).toHaveLength(1);
    expect(log.lines).toContain(
      "ottavo: warning: pubsub 'orders_bus' (type recording) has no dead-letter support; deadLetterTopic 'dead' of topic 'orders' is ignored",
    );
  });

  it("retries a subscribe that failed for a passing reason, and gives up on one that cannot pass", async () => {
    const server = await app({
      listTopicSubscriptions: async () => ({
        subscriptions: [{ pubsubName: "orders_bus", topic: "orders" }],
      }),
    });
    const pubsub = new RecordingPubSub();
    pubsub.subscribeFailures.push(new ConnectError("redis is loading", Code.Unavailable), new Error("socket closed"));
    const { delivery, log } = startDelivery(server.port, pubsub);
    await delivery.settled;
    expect(pubsub.subscribeCalls).toBe(3);
    expect(pubsub.subscriptions).toHaveLength(1);
    expect(log.lines).toContain(
      "ottavo: warning: cannot subscribe to topic 'orders' of pubsub 'orders_bus': redis is loading; retrying with backoff",
    );

    const refusing = new RecordingPubSub();
    refusing.subscribeFailures.push(new ConnectError("topic orders does not exist", Code.NotFound));
    const second = startDelivery(server.port, refusing);
    await second.delivery.settled;
    expect(refusing.subscribeCalls).toBe(1);
    expect(second.log.lines).toContain(
      "ottavo: warning: cannot subscribe to topic 'orders' of pubsub 'orders_bus': topic orders does not exist",
    );
  });
});

describe("delivering a message", () => {
  it("sends the CloudEvent unpacked as a TopicEventRequest, with the message's metadata", async () => {
    const received: TopicEventRequest[] = [];
    const { pubsub } = await subscribedApp(async (request) => {
      received.push(request);
      return {};
    });
    // As PublishEvent writes it: the JSON data spliced in verbatim, so big numbers keep their digits.
    const raw =
      '{"id":"e-42","source":"publisher","type":"com.dapr.event.sent","specversion":"1.0",' +
      '"datacontenttype":"application/json","topic":"orders","pubsubname":"orders_bus","data":{"orderId":12345678901234567890}}';
    const result = await pubsub.deliver("orders", { data: bytes(raw), metadata: { k: "v" } });
    expect(result).toBe("SUCCESS");
    expect(received).toHaveLength(1);
    const [event] = received;
    expect({ ...event, data: text(event.data) }).toMatchObject({
      id: "e-42",
      source: "publisher",
      type: "com.dapr.event.sent",
      specVersion: "1.0",
      dataContentType: "application/json",
      data: '{"orderId":12345678901234567890}',
      topic: "orders",
      pubsubName: "orders_bus",
      metadata: { k: "v" },
    });
  });

  it("delivers a payload that is not a CloudEvent as it is, under the broker's message id", async () => {
    const received: TopicEventRequest[] = [];
    const { pubsub } = await subscribedApp(async (request) => {
      received.push(request);
      return {};
    });
    expect(await pubsub.deliver("orders", { id: "1700000000000-0", data: bytes("plain"), contentType: "text/plain" })).toBe(
      "SUCCESS",
    );
    expect({ ...received[0], data: text(received[0].data) }).toMatchObject({
      id: "1700000000000-0",
      source: "runtime",
      type: "com.dapr.event.sent",
      specVersion: "1.0",
      dataContentType: "text/plain",
      data: "plain",
    });
  });

  it("drops an expired CloudEvent without calling the app", async () => {
    let calls = 0;
    const { pubsub, log } = await subscribedApp(async () => {
      calls++;
      return {};
    });
    const expired = { id: "old", specversion: "1.0", source: "s", type: "t", expiration: "2001-01-01T00:00:00Z", data: "x" };
    expect(await pubsub.deliver("orders", { id: "m-9", data: bytes(JSON.stringify(expired)) })).toBe("DROP");
    expect(calls).toBe(0);
    expect(log.lines).toContain("ottavo: warning: message m-9 of topic 'orders' of pubsub 'orders_bus' expired before delivery; dropped");
  });

  const verdicts: [string, () => Promise<{ status?: Status }>, DeliveryResult][] = [
    ["SUCCESS", async () => ({ status: Status.SUCCESS }), "SUCCESS"],
    ["an unset status (SUCCESS)", async () => ({}), "SUCCESS"],
    ["DROP", async () => ({ status: Status.DROP }), "DROP"],
    ["RETRY", async () => ({ status: Status.RETRY }), "RETRY"],
    ["a status this runtime does not know", async () => ({ status: 7 as Status }), "RETRY"],
    ["UNIMPLEMENTED", async () => Promise.reject(new ConnectError("no", Code.Unimplemented)), "DROP"],
    ["UNAVAILABLE", async () => Promise.reject(new ConnectError("busy", Code.Unavailable)), "RETRY"],
    ["INTERNAL", async () => Promise.reject(new Error("handler crashed")), "RETRY"],
    ["INVALID_ARGUMENT", async () => Promise.reject(new ConnectError("bad", Code.InvalidArgument)), "RETRY"],
  ];
  it.each(verdicts)("answers the pubsub for an app answering %s", async (_name, answer, expected) => {
    const { pubsub } = await subscribedApp(answer);
    expect(await pubsub.deliver("orders", { data: bytes("x"), contentType: "text/plain" })).toBe(expected);
  });

  it("answers RETRY when the app does not answer within the deadline", async () => {
    const hanging = await subscribedApp(hang, { ...fast, eventTimeoutMs: 150 });
    const started = Date.now();
    expect(await hanging.pubsub.deliver("orders", { data: bytes("x") })).toBe("RETRY");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(hanging.log.lines.some((l) => l.includes("cannot deliver event m-1 of topic 'orders' of pubsub 'orders_bus' to the app: DeadlineExceeded"))).toBe(true);
  });

  it("answers RETRY while the app is down, reports it once, and says when it is back", async () => {
    let up = true;
    const server = await app({
      listTopicSubscriptions: async () => ({ subscriptions: [{ pubsubName: "orders_bus", topic: "orders" }] }),
      onTopicEvent: async () => {
        if (!up) throw new ConnectError("restarting", Code.Unavailable);
        return {};
      },
    });
    const { pubsub, delivery, log } = startDelivery(server.port);
    await delivery.settled;
    await server.close();
    up = false;
    expect(await pubsub.deliver("orders", { data: bytes("x") })).toBe("RETRY");
    expect(await pubsub.deliver("orders", { data: bytes("x") })).toBe("RETRY");
    const restarted = await app(
      {
        onTopicEvent: async () => ({}),
      },
      server.port,
    );
    expect(restarted.port).toBe(server.port);
    expect(await pubsub.deliver("orders", { data: bytes("x") })).toBe("SUCCESS");
    expect(log.lines.filter((l) => l.includes("cannot deliver"))).toHaveLength(1);
    expect(log.lines).toContain("ottavo: delivering topic 'orders' of pubsub 'orders_bus' to the app again");
  });
});

describe("shutdown", () => {
  it("closes the subscriptions, lets a delivery under way finish, and answers RETRY to messages taken after", async () => {
    let release: (() => void) | undefined;
    const { pubsub, delivery } = await subscribedApp(
      () => new Promise((resolve) => (release = () => resolve({ status: Status.SUCCESS }))),
    );
    const underWay = pubsub.deliver("orders", { data: bytes("x") });
    await eventually(() => release !== undefined);
    const handler = pubsub.subscriptions[0].handler;
    const stopping = delivery.shutdown(5_000);
    await eventually(() => pubsub.subscriptions[0].closed);
    expect(await handler({ id: "late", topic: "orders", data: bytes("y"), contentType: "", deliveryCount: 1, metadata: {} })).toBe(
      "RETRY",
    );
    release!();
    expect(await underWay).toBe("SUCCESS");
    expect(await stopping).toEqual({ drained: true });
  });

  it("cancels a delivery still under way after the bound: the pubsub keeps the message (RETRY)", async () => {
    const { pubsub, delivery, log } = await subscribedApp(hang);
    const underWay = pubsub.deliver("orders", { data: bytes("x") });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await delivery.shutdown(100)).toEqual({ drained: false });
    expect(await underWay).toBe("RETRY");
    expect(log.lines).toContain(
      "ottavo: warning: 1 delivery(ies) to the app still under way after 100 ms; cancelled (the pubsub redelivers them)",
    );
  });
});
