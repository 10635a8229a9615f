import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { DeliveryResult, PubSub, TopicMessage } from "@ottavo/generated/components/pubsub";
import { ComponentTable, type ComponentEntry } from "../../src/registry/component-table";
import { createPubsubHandlers } from "../../src/handlers/pubsub-handlers";
import { TopicEventResponse_TopicEventResponseStatus as Status } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import {
  PublishEventRequestSchema,
  SubscribeTopicEventsRequestSchema,
  type SubscribeTopicEventsRequest,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { bytes, clientStream, contextFor, eventually, expectError, nextOf, rejection, runtimeWith, text } from "./support";

describe("pubsub handlers", () => {
  let runtime: Awaited<ReturnType<typeof runtimeWith>>;

  beforeEach(async () => {
    runtime = await runtimeWith([{ capability: "pubsub", type: "in-memory", name: "pub_subs_demo" }]);
  });
  afterEach(() => runtime.close());

  const publish = (fields: MessageInitShape<typeof PublishEventRequestSchema>, headers?: Record<string, string>) =>
    runtime.groups.pubsub.publishEvent(
      create(PublishEventRequestSchema, { pubsubName: "pub_subs_demo", topic: "orders", ...fields }),
      contextFor("publishEvent", { headers }),
    );

  /** Subscribes to the component directly, as another app would, and collects what arrives. */
  async function received(topic = "orders") {
    const messages: TopicMessage[] = [];
    const subscription = await runtime
      .component("pubsub", "pub_subs_demo")
      .subscribe({ topic, consumerGroup: "observer", metadata: {} }, async (message) => {
        messages.push(message);
        return "SUCCESS";
      });
    return { messages, close: () => subscription.close() };
  }
  const envelopeOf = (message: TopicMessage) => JSON.parse(text(message.data)) as Record<string, unknown>;

  describe("PublishEvent", () => {
    it("wraps JSON data in a CloudEvents 1.0 envelope published as application/cloudevents+json", async () => {
      const observer = await received();
      await publish(
        { data: bytes('{"orderId": 12345678901234567890}'), dataContentType: "application/json" },
        { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
      );
      await eventually(() => observer.messages.length === 1);
      const [message] = observer.messages;
      expect(message.contentType).toBe("application/cloudevents+json");
      expect(envelopeOf(message)).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        source: "app1",
        type: "com.dapr.event.sent",
        specversion: "1.0",
        datacontenttype: "application/json",
        data: { orderId: expect.any(Number) },
        topic: "orders",
        pubsubname: "pub_subs_demo",
        traceid: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      });
      // The JSON text is kept, so a number beyond 2^53 keeps its digits.
      expect(text(message.data)).toContain('"data":{"orderId": 12345678901234567890}');
      await observer.close();
    });

    it("sends text as a string (text/plain when no content type is given) and bytes as data_base64", async () => {
      const observer = await received();
      await publish({ data: bytes("hello") });
      await publish({ data: bytes("{not json"), dataContentType: "application/json" });
      await publish({ data: new Uint8Array([0, 255, 1]), dataContentType: "application/octet-stream" });
      await eventually(() => observer.messages.length === 3);
      const [plain, broken, binary] = observer.messages.map(envelopeOf);
      expect(plain).toMatchObject({ datacontenttype: "text/plain", data: "hello" });
      expect(plain.traceid).toBeUndefined();
      expect(broken).toMatchObject({ datacontenttype: "application/json", data: "{not json" });
      expect(binary).toMatchObject({ datacontenttype: "application/octet-stream", data_base64: "AP8B" });
      await observer.close();
    });

    it("passes a CloudEvent through unchanged, adding only an expiration for ttlInSeconds", async () => {
      const observer = await received();
      const event = '{"id":"e1","source":"elsewhere","type":"t","specversion":"1.0","data":{"n":1}}';
      await publish({ data: bytes(event), dataContentType: "application/cloudevents+json" });
      await publish({ data: bytes(event), dataContentType: "application/cloudevents+json", metadata: { ttlInSeconds: "60" } });
      await eventually(() => observer.messages.length === 2);
      expect(text(observer.messages[0].data)).toBe(event);
      const expiring = envelopeOf(observer.messages[1]);
      expect(expiring).toMatchObject({ id: "e1", source: "elsewhere" });
      expect(Date.parse(expiring.expiration as string) - Date.now()).toBeGreaterThan(55_000);
      await observer.close();
    });

    it("refuses a CloudEvent that is not a JSON object, and a bad ttlInSeconds", async () => {
      await expectError(
        publish({ data: bytes("[1,2]"), dataContentType: "application/cloudevents+json" }),
        Code.InvalidArgument,
        "cannot create cloudevent: the data is not a JSON object",
      );
      await expectError(
        publish({ data: bytes("{oops"), dataContentType: "application/cloudevents+json" }),
        Code.InvalidArgument,
        /^cannot create cloudevent: /,
      );
      await expectError(
        publish({ data: bytes("x"), metadata: { ttlInSeconds: "0" } }),
        Code.InvalidArgument,
        "ttlInSeconds value must be a positive integer: actual is '0'",
      );
    });

    it("validates names in Dapr's order and words", async () => {
      await expectError(publish({ pubsubName: "" }), Code.InvalidArgument, "pubsub name is empty");
      await expectError(publish({ topic: "" }), Code.InvalidArgument, "topic is empty in pubsub pub_subs_demo");
      await expectError(publish({ pubsubName: "nope" }), Code.InvalidArgument, "pubsub nope not found");
      const bare = await runtimeWith([]);
      await expectError(
        bare.groups.pubsub.publishEvent(create(PublishEventRequestSchema, { pubsubName: "x", topic: "t" }), contextFor("publishEvent")),
        Code.FailedPrecondition,
        "no pubsub is configured",
      );
    });
  });

  describe("SubscribeTopicEvents", () => {
    const initial = (pubsubName: string, topic: string) =>
      create(SubscribeTopicEventsRequestSchema, {
        subscribeTopicEventsRequestType: { case: "initialRequest", value: { pubsubName, topic } },
      });
    const processed = (id: string, status: Status) =>
      create(SubscribeTopicEventsRequestSchema, {
        subscribeTopicEventsRequestType: { case: "eventProcessed", value: { id, status: { status } } },
      });

    function open(signal?: AbortSignal) {
      const client = clientStream<SubscribeTopicEventsRequest>();
      const stream = runtime.groups.pubsub
        .subscribeTopicEvents(client.iterable, contextFor("subscribeTopicEvents", { signal }))
        [Symbol.asyncIterator]();
      return { client, stream };
    }

    /** Opens a stream on pub_subs_demo/orders and reads its initial response. */
    async function subscribed() {
      const opened = open();
      opened.client.push(initial("pub_subs_demo", "orders"));
      const first = await nextOf(opened.stream);
      expect(first.value?.subscribeTopicEventsResponseType?.case).toBe("initialResponse");
      return opened;
    }

    async function nextEvent(stream: AsyncIterator<unknown>) {
      const next = (await nextOf(stream)).value as {
        subscribeTopicEventsResponseType: { case: string; value: Record<string, unknown> & { id: string; data: Uint8Array } };
      };
      expect(next.subscribeTopicEventsResponseType.case).toBe("eventMessage");
      return next.subscribeTopicEventsResponseType.value;
    }

    it("streams each message as a CloudEvent and settles it with the client's verdict", async () => {
      const { client, stream } = await subscribed();
      await publish({ data: bytes('{"a":1}'), dataContentType: "application/json" });
      await publish({ data: bytes("second") });

      const event = await nextEvent(stream);
      expect(event).toMatchObject({
        source: "app1",
        type: "com.dapr.event.sent",
        specVersion: "1.0",
        dataContentType: "application/json",
        topic: "orders",
        pubsubName: "pub_subs_demo",
      });
      expect(text(event.data)).toBe('{"a":1}');

      // RETRY: the same event comes again (the in-memory pubsub is ordered, so it is next).
      client.push(processed(event.id, Status.RETRY));
      const again = await nextEvent(stream);
      expect(again.id).toBe(event.id);

      client.push(processed(again.id, Status.SUCCESS));
      const second = await nextEvent(stream);
      expect(text(second.data)).toBe("second");
      client.push(processed(second.id, Status.DROP));

      client.end();
      expect((await nextOf(stream)).done).toBe(true);
    });

    it("has messages still waiting for a verdict delivered again after the stream ends", async () => {
      const first = await subscribed();
      await publish({ data: bytes("in flight") });
      const event = await nextEvent(first.stream);
      first.client.end();
      expect((await nextOf(first.stream)).done).toBe(true);

      // The pair is free again, and the unanswered message comes back with its id.
      const second = await subscribed();
      const redelivered = await nextEvent(second.stream);
      expect(redelivered.id).toBe(event.id);
      expect(text(redelivered.data)).toBe("in flight");
      second.client.push(processed(redelivered.id, Status.SUCCESS));
      second.client.end();
      await nextOf(second.stream);
    });

    it("ends when the call is cancelled", async () => {
      const abort = new AbortController();
      const { client, stream } = open(abort.signal);
      client.push(initial("pub_subs_demo", "orders"));
      await nextOf(stream);
      const pending = nextOf(stream);
      abort.abort();
      expect((await pending).done).toBe(true);
    });

    it("delivers a payload that is not a CloudEvent as it was published", async () => {
      const { client, stream } = await subscribed();
      await runtime
        .component("pubsub", "pub_subs_demo")
        .publish({ topic: "orders", data: bytes("raw"), contentType: "text/plain", metadata: { k: "v" } });
      const event = await nextEvent(stream);
      expect(event).toMatchObject({ dataContentType: "text/plain", topic: "orders", metadata: { k: "v" } });
      expect(text(event.data)).toBe("raw");
      client.push(processed(event.id, Status.SUCCESS));
      client.end();
      await nextOf(stream);
    });

    it("refuses a second stream on the same pubsub and topic while the first is open", async () => {
      const first = await subscribed();
      const second = open();
      second.client.push(initial("pub_subs_demo", "orders"));
      const error = await rejection(nextOf(second.stream));
      expect([error.code, error.rawMessage]).toEqual([
        Code.AlreadyExists,
        'already subscribed to pubsub "pub_subs_demo" topic "orders"',
      ]);
      first.client.end();
      await nextOf(first.stream);
    });

    it("validates the opening request", async () => {
      const cases: [SubscribeTopicEventsRequest, Code, string][] = [
        [processed("x", Status.SUCCESS), Code.InvalidArgument, "initial request is required"],
        [initial("", "orders"), Code.InvalidArgument, "pubsubName is required"],
        [initial("pub_subs_demo", ""), Code.InvalidArgument, "topic is required"],
        [initial("nope", "orders"), Code.InvalidArgument, "pubsub nope not found"],
      ];
      for (const [request, code, message] of cases) {
        const { client, stream } = open();
        client.push(request);
        const error = await rejection(nextOf(stream));
        expect([error.code, error.rawMessage]).toEqual([code, message]);
      }
    });

    it("cuts off a client that stops reading at the bound: RESOURCE_EXHAUSTED, and what it held goes back to the pubsub (RETRY)", async () => {
      // A pubsub that delivers several messages at once (Kafka does, one per partition), and a bound of 3.
      let deliver: ((message: TopicMessage) => Promise<DeliveryResult>) | undefined;
      let unsubscribed = false;
      const pubsub = {
        features: new Set<never>(),
        publish: async () => undefined,
        subscribe: async (_request: unknown, handler: (message: TopicMessage) => Promise<DeliveryResult>) => {
          deliver = handler;
          return { close: async () => void (unsubscribed = true) };
        },
        close: async () => undefined,
      } as unknown as PubSub;
      const table = new ComponentTable("app1");
      table.add({ capability: "pubsub", name: "bus", type: "concurrent", component: pubsub, metadata: {} } as ComponentEntry);
      const client = clientStream<SubscribeTopicEventsRequest>();
      const stream = createPubsubHandlers(table, 3).subscribeTopicEvents(client.iterable, contextFor("subscribeTopicEvents"))[Symbol.asyncIterator]();
      client.push(initial("bus", "orders"));
      expect((await nextOf(stream)).value?.subscribeTopicEventsResponseType?.case).toBe("initialResponse");

      // The client reads nothing more: three messages wait in the stream's queue, the fourth passes the bound.
      const message = (i: number): TopicMessage => ({ id: `m${i}`, topic: "orders", data: bytes(`m${i}`), contentType: "text/plain", deliveryCount: 1, metadata: {} });
      const verdicts = [1, 2, 3, 4].map((i) => deliver!(message(i)));
      const error = await rejection(nextOf(stream));
      expect([Code[error.code], error.rawMessage]).toEqual([
        "ResourceExhausted",
        "the SubscribeTopicEvents stream of topic orders has 3 responses its client has not read (limits.maxQueuedStreamResponses); the stream is closed",
      ]);
      // Nothing was acknowledged: the pubsub keeps all four, to deliver again; the subscription is closed.
      expect(await Promise.all(verdicts)).toEqual(["RETRY", "RETRY", "RETRY", "RETRY"]);
      await eventually(() => unsubscribed);
      client.end();
    });

    it("ends with INVALID_ARGUMENT on a second initial request", async () => {
      const { client, stream } = await subscribed();
      client.push(initial("pub_subs_demo", "orders"));
      const error = await rejection(nextOf(stream));
      expect([error.code, error.rawMessage]).toEqual([Code.InvalidArgument, "duplicate initial request received"]);
    });
  });
});
