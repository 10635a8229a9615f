/**
 * The end-to-end pub/sub cases every pubsub adapter must pass, against the built
 * runtime process: an app written with the layotto SDK's server side receives
 * what is published through the runtime (AppCallback), and a client of the
 * streaming subscription (SubscribeTopicEvents) receives and acknowledges it.
 */
import { Client } from "layotto";
import { startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { startLayottoApp, type AppTopic, type LayottoApp, type ReceivedEvent } from "./layotto-app";
import {
  EventStatus,
  connectClient,
  delay,
  eventually,
  freePort,
  openTopicStream,
  pubsubConfig,
  text,
} from "./support";

export interface PubsubUnderTest {
  /** The adapter type in the config. */
  readonly type: string;
  /** The component's metadata (backend address, a short redeliveryBackoff); read in beforeAll. */
  readonly metadata: () => Record<string, string>;
  /** Unacknowledged messages survive a runtime restart (DURABLE). */
  readonly durable: boolean;
  /** How long a subscription or a delivery may take to show; 10 s by default (a Kafka group rebalances first). */
  readonly waitMs?: number;
}

const pubsubName = "pub_subs_demo";
const subscribedLine = (topic: string) => `ottavo: subscribed the app to topic '${topic}' of pubsub '${pubsubName}'`;

/**
 * "Nothing else arrived" is proved with a sentinel, never a wait: the sentinel is published
 * after the event that must not come again, on the same key (Kafka orders per partition;
 * the other pubsubs per topic), and must arrive with nothing unexpected before it.
 */
const key = { partitionKey: "one-key" };

export function describeDelivery(pubsub: PubsubUnderTest): void {
  const waitMs = pubsub.waitMs ?? 10_000;
  const soon = <T>(check: () => T | Promise<T>) => eventually(check, waitMs);
  // Topic names unique to this run, so a broker that outlives it (Kafka) holds nothing of an earlier one.
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  const topic = (name: string) => `${name}-${run}`;
  const config = (appId: string, callbackPort?: number) =>
    pubsubConfig({ appId, callbackPort, pubsubName, type: pubsub.type, metadata: pubsub.metadata() });

  describe("to an app's AppCallback server built with the layotto SDK", () => {
    const received = new Map<string, { data: unknown; event: ReceivedEvent }[]>();
    const record = (name: string) => async (data: unknown, event: ReceivedEvent) => {
      const list = received.get(name) ?? [];
      list.push({ data, event });
      received.set(name, list);
    };
    let flakyFailures = 0;
    const topics: AppTopic[] = [
      { pubsubName, topic: topic("orders"), handler: record("orders") },
      {
        pubsubName,
        topic: topic("flaky"),
        handler: async (data, event) => {
          await record("flaky")(data, event);
          if (++flakyFailures <= 3) throw new Error(`failure ${flakyFailures} of 3`);
        },
      },
      // Listed, but no handler: the SDK answers DROP.
      { pubsubName, topic: topic("unhandled") },
      { pubsubName, topic: topic("unimplemented"), unimplemented: true },
      { pubsubName, topic: topic("expiring"), handler: record("expiring") },
    ];

    let app: LayottoApp;
    let runtime: RunningRuntime;
    let client: Client;
    let connect: ReturnType<typeof connectClient>;

    beforeAll(async () => {
      app = await startLayottoApp(await freePort(), topics);
      runtime = await startRuntime({ config: config("subscriber", app.port) });
      for (const t of topics) await runtime.waitForStdout(subscribedLine(t.topic), waitMs);
      client = new Client(String(runtime.apiPort), "127.0.0.1");
      connect = connectClient(runtime.apiUrl);
    });

    afterAll(async () => {
      client?.close();
      connect?.close();
      if (runtime) expect(await runtime.stop()).toBe(0);
      await app?.close();
    });

    it("delivers an event published with the SDK's client, data and metadata intact, as a CloudEvent", async () => {
      await client.pubsub.publish({
        pubsubName,
        topic: topic("orders"),
        data: { orderId: 42, items: ["tea", "scones"], note: "héllo" },
        metadata: { region: "eu", priority: "high" },
      });
      const [delivery] = await soon(() => {
        const list = received.get("orders") ?? [];
        expect(list).toHaveLength(1);
        return list;
      });
      expect(delivery.data).toEqual({ orderId: 42, items: ["tea", "scones"], note: "héllo" });
      expect(delivery.event).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        source: "subscriber",
        type: "com.dapr.event.sent",
        specVersion: "1.0",
        dataContentType: "application/json",
        topic: topic("orders"),
        pubsubName,
      });
      expect(delivery.event.metadata).toMatchObject({ region: "eu", priority: "high" });
    });

    it("delivers an event a fourth time to a handler that threw three times (RETRY)", async () => {
      await client.pubsub.publish({ pubsubName, topic: topic("flaky"), data: { attempt: "me" }, metadata: key });
      const list = await soon(() => {
        const got = received.get("flaky") ?? [];
        expect(got).toHaveLength(4);
        return got;
      });
      expect(new Set(list.map((d) => d.event.id)).size).toBe(1);
      expect(list.map((d) => d.data)).toEqual(Array(4).fill({ attempt: "me" }));
      // Settled by the fourth delivery: the sentinel comes next, with no fifth delivery before it.
      await client.pubsub.publish({ pubsubName, topic: topic("flaky"), data: { sentinel: true }, metadata: key });
      await soon(() => expect(received.get("flaky")).toHaveLength(5));
      expect(received.get("flaky")!.map((d) => d.data)).toEqual([...Array(4).fill({ attempt: "me" }), { sentinel: true }]);
    });

    it("does not deliver again an event the app dropped (no handler: the SDK answers DROP)", async () => {
      await client.pubsub.publish({ pubsubName, topic: topic("unhandled"), data: { drop: "me" }, metadata: key });
      await soon(() => expect(app.calls.filter((c) => c.topic === topic("unhandled"))).toHaveLength(1));
      await client.pubsub.publish({ pubsubName, topic: topic("unhandled"), data: { sentinel: true }, metadata: key });
      await soon(() => expect(app.calls.filter((c) => c.topic === topic("unhandled"))).toHaveLength(2));
      expect(app.calls.filter((c) => c.topic === topic("unhandled")).map((c) => c.data)).toEqual(['{"drop":"me"}', '{"sentinel":true}']);
      // The runtime writes its log lines once per event-loop turn: the line may follow the sentinel's delivery.
      const dropped = app.calls.find((c) => c.topic === topic("unhandled"))!.id;
      await soon(() => expect(runtime.stderr()).toContain(`the app dropped event ${dropped}`));
    });

    it("does not deliver again an event the app answered with UNIMPLEMENTED", async () => {
      await client.pubsub.publish({ pubsubName, topic: topic("unimplemented"), data: { one: 1 }, metadata: key });
      await client.pubsub.publish({ pubsubName, topic: topic("unimplemented"), data: { two: 2 }, metadata: key });
      await soon(() => expect(app.calls.filter((c) => c.topic === topic("unimplemented"))).toHaveLength(2));
      await client.pubsub.publish({ pubsubName, topic: topic("unimplemented"), data: { sentinel: true }, metadata: key });
      await soon(() => expect(app.calls.filter((c) => c.topic === topic("unimplemented"))).toHaveLength(3));
      const calls = app.calls.filter((c) => c.topic === topic("unimplemented"));
      expect(calls.map((c) => c.data)).toEqual(['{"one":1}', '{"two":2}', '{"sentinel":true}']);
      await soon(() => expect(runtime.stderr()).toContain("the app does not implement OnTopicEvent"));
    });

    it("drops an expired CloudEvent instead of delivering it", async () => {
      const expired = {
        id: `expired-${run}`,
        source: "elsewhere",
        type: "com.example.stale",
        specversion: "1.0",
        datacontenttype: "application/json",
        data: { stale: true },
        expiration: new Date(Date.now() - 60_000).toISOString(),
      };
      await connect.client.publishEvent({
        pubsubName,
        topic: topic("expiring"),
        data: Buffer.from(JSON.stringify(expired)),
        dataContentType: "application/cloudevents+json",
        metadata: key,
      });
      // The fresh event is the sentinel: published after the expired one on the same key, it arrives with nothing before it.
      await client.pubsub.publish({ pubsubName, topic: topic("expiring"), data: { fresh: true }, metadata: key });
      await soon(() => expect(received.get("expiring")?.length).toBeGreaterThan(0));
      expect(received.get("expiring")?.map((d) => d.data)).toEqual([{ fresh: true }]);
      expect(app.calls.some((c) => c.id === expired.id)).toBe(false);
      expect(runtime.stderr()).toMatch(/message \S+ of topic 'expiring-\w+' of pubsub 'pub_subs_demo' expired before delivery; dropped/);
    });
  });

  describe("to an app that starts after the runtime", () => {
    it("keeps asking for its subscriptions until it answers, then delivers", async () => {
      const port = await freePort();
      const runtime = await startRuntime({ config: config("late-subscriber", port) });
      try {
        await runtime.waitForStdout(`ottavo: waiting for the app's AppCallback server at http://127.0.0.1:${port}`);
        // The API serves meanwhile, and readiness does not wait for the app.
        expect((await fetch(`${runtime.actuatorUrl}/actuator/health/readiness`)).status).toBe(200);
        await delay(300);
        const got: unknown[] = [];
        const app = await startLayottoApp(port, [{ pubsubName, topic: topic("late"), handler: async (data) => void got.push(data) }]);
        try {
          await runtime.waitForStdout(subscribedLine(topic("late")), waitMs);
          const client = new Client(String(runtime.apiPort), "127.0.0.1");
          await client.pubsub.publish({ pubsubName, topic: topic("late"), data: { late: "but here" } });
          client.close();
          await soon(() => expect(got).toEqual([{ late: "but here" }]));
        } finally {
          await app.close();
        }
      } finally {
        expect(await runtime.stop()).toBe(0);
      }
    });
  });

  describe("over the streaming subscription (SubscribeTopicEvents)", () => {
    let runtime: RunningRuntime;
    let connect: ReturnType<typeof connectClient>;
    const publish = (name: string, data: object) =>
      connect.client.publishEvent({
        pubsubName,
        topic: topic(name),
        data: Buffer.from(JSON.stringify(data)),
        dataContentType: "application/json",
        metadata: { via: "stream-test", ...key },
      });

    beforeAll(async () => {
      runtime = await startRuntime({ config: config("streamer") });
      connect = connectClient(runtime.apiUrl);
    });

    afterAll(async () => {
      connect?.close();
      if (runtime) expect(await runtime.stop()).toBe(0);
    });

    it("streams each event and settles it by id: RETRY delivers it again, SUCCESS acknowledges it", async () => {
      const stream = await openTopicStream(connect.client, pubsubName, topic("stream"));
      await publish("stream", { n: 1 });
      const first = await stream.next(waitMs);
      expect(first).toMatchObject({ source: "streamer", specVersion: "1.0", dataContentType: "application/json", topic: topic("stream"), pubsubName });
      expect(JSON.parse(text(first.data))).toEqual({ n: 1 });
      expect(first.metadata).toMatchObject({ via: "stream-test" });

      stream.answer(first.id, EventStatus.RETRY);
      const again = await stream.next(waitMs);
      expect(again.id).toBe(first.id);
      stream.answer(again.id, EventStatus.SUCCESS);

      await publish("stream", { n: 2 });
      const second = await stream.next(waitMs);
      expect(JSON.parse(text(second.data))).toEqual({ n: 2 });
      stream.answer(second.id, EventStatus.SUCCESS);
      // Both settled: a sentinel is the next event, with no redelivery before it.
      await publish("stream", { sentinel: true });
      const sentinel = await stream.next(waitMs);
      expect(JSON.parse(text(sentinel.data))).toEqual({ sentinel: true });
      stream.answer(sentinel.id, EventStatus.SUCCESS);
      await stream.end();
    });

    it("delivers again, on the next stream, an event left unanswered when the client went away", async () => {
      const first = await openTopicStream(connect.client, pubsubName, topic("abandoned"));
      await publish("abandoned", { keep: "me" });
      const unanswered = await first.next(waitMs);
      first.cancel();

      // Closing the stream unsubscribed it: the same topic can be opened again, and the event comes back.
      const second = await soon(() => openTopicStream(connect.client, pubsubName, topic("abandoned")));
      const redelivered = await second.next(waitMs);
      expect(redelivered.id).toBe(unanswered.id);
      expect(JSON.parse(text(redelivered.data))).toEqual({ keep: "me" });
      second.answer(redelivered.id, EventStatus.SUCCESS);
      await second.end();
    });
  });

  if (!pubsub.durable) return;

  describe("across a runtime restart", () => {
    it("delivers after the restart an event the app's handler kept failing before it", async () => {
      const port = await freePort();
      const name = topic("restart-failing");
      let failures = 0;
      const failing = await startLayottoApp(port, [
        {
          pubsubName,
          topic: name,
          handler: async () => {
            failures++;
            throw new Error("not now");
          },
        },
      ]);
      const first = await startRuntime({ config: config("durable-app", port) });
      await first.waitForStdout(subscribedLine(name), waitMs);
      const client = new Client(String(first.apiPort), "127.0.0.1");
      await client.pubsub.publish({ pubsubName, topic: name, data: { survives: "restart" } });
      client.close();
      await soon(() => expect(failures).toBeGreaterThan(0));
      expect(await first.stop()).toBe(0);
      await failing.close();

      const got: unknown[] = [];
      const healthy = await startLayottoApp(port, [{ pubsubName, topic: name, handler: async (data) => void got.push(data) }]);
      const second = await startRuntime({ config: config("durable-app", port) });
      try {
        await eventually(() => expect(got).toEqual([{ survives: "restart" }]), waitMs * 3);
      } finally {
        expect(await second.stop()).toBe(0);
        await healthy.close();
      }
    });

    it("delivers after the restart an event published while the app was down", async () => {
      const port = await freePort();
      const name = topic("restart-app-down");
      const app = await startLayottoApp(port, [{ pubsubName, topic: name, handler: async () => undefined }]);
      const first = await startRuntime({ config: config("durable-app-2", port) });
      await first.waitForStdout(subscribedLine(name), waitMs);
      await app.close();
      const client = new Client(String(first.apiPort), "127.0.0.1");
      await client.pubsub.publish({ pubsubName, topic: name, data: { while: "down" } });
      client.close();
      // The runtime keeps serving; its deliveries fail (UNAVAILABLE) and the pubsub keeps the event.
      await soon(() => expect(first.stderr()).toContain("cannot deliver event"));
      expect(await first.stop()).toBe(0);

      const got: unknown[] = [];
      const back = await startLayottoApp(port, [{ pubsubName, topic: name, handler: async (data) => void got.push(data) }]);
      const second = await startRuntime({ config: config("durable-app-2", port) });
      try {
        await eventually(() => expect(got).toEqual([{ while: "down" }]), waitMs * 3);
      } finally {
        expect(await second.stop()).toBe(0);
        await back.close();
      }
    });
  });
}
