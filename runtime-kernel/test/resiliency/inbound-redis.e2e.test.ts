/**
 * Inbound resiliency on a durable pubsub (Redis Streams, a redis-server the test
 * starts): a dead app trips the breaker, the events wait in the runtime (held,
 * touched by the subscription so no scan claims them, not counted towards
 * maxDeliveries); the runtime is stopped while they wait and its successor,
 * started once the app is back, delivers every accepted event once; nothing
 * reaches the dead-letter topic.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import {
  TopicEventResponse_TopicEventResponseStatus as Status,
  type TopicEventRequest,
} from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { eventually, startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { startConnectApp, type ConnectApp } from "../pubsub/app-callback-app";
import { connectClient } from "../pubsub/support";

jest.setTimeout(60_000);

const calls: { topic: string; data: string; outcome: string }[] = [];
let dead = true;
let redis: RedisServer;
let app: ConnectApp;
const runtimes: RunningRuntime[] = [];

beforeAll(async () => {
  redis = await startRedis();
  app = await startConnectApp({
    listTopicSubscriptions: async () => ({
      subscriptions: [
        { pubsubName: "jobs_bus", topic: "jobs", deadLetterTopic: "jobs-dead" },
        { pubsubName: "jobs_bus", topic: "jobs-dead" },
      ],
    }),
    onTopicEvent: async (request: TopicEventRequest) => {
      const call = { topic: request.topic, data: Buffer.from(request.data).toString("utf8"), outcome: "SUCCESS" };
      calls.push(call);
      if (dead && call.topic === "jobs") {
        call.outcome = "UNAVAILABLE";
        throw new ConnectError("the app is down", Code.Unavailable);
      }
      return { status: Status.SUCCESS };
    },
  });
}, 30_000);

afterAll(async () => {
  for (const runtime of runtimes) await runtime.stop();
  await app?.close();
  await redis?.stop();
});

async function start(): Promise<RunningRuntime> {
  const runtime = await startRuntime({
    config: `app: { id: redis-inbound, callbackPort: ${app.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  pubsub:
    jobs_bus:
      type: redis
      metadata: { redisHost: "127.0.0.1:${redis.port}", concurrency: 1, redeliveryBackoff: 10ms, maxRedeliveryBackoff: 10ms, maxDeliveries: 5 }
resiliency:
  policies:
    circuitBreakers: { twice: { maxRequests: 1, timeout: 1s, trip: consecutiveFailures >= 2 } }
  targets:
    components:
      jobs_bus: { inbound: { circuitBreaker: twice } }
`,
  });
  runtimes.push(runtime);
  await runtime.waitForStdout("subscribed the app to topic 'jobs-dead' of pubsub 'jobs_bus'");
  return runtime;
}

async function publish(runtime: RunningRuntime, topic: string, data: string): Promise<void> {
  const connect = connectClient(runtime.apiUrl);
  try {
    await connect.client.publishEvent({ pubsubName: "jobs_bus", topic, data: Buffer.from(data), dataContentType: "text/plain" });
  } finally {
    connect.close();
  }
}

const succeeded = (data: string) => calls.filter((c) => c.data === data && c.outcome === "SUCCESS").length;

it("events that wait for an open breaker survive a runtime stop and are delivered once by the next runtime; none is dead-lettered", async () => {
  const first = await start();
  for (const data of ["j1", "j2", "j3"]) await publish(first, "jobs", data);
  await eventually(() => first.stderr().includes("circuit breaker 'twice' of topic 'jobs' of pubsub 'jobs_bus' is open for the app: deliveries wait"), 20_000);
  // maxDeliveries is 5 and redelivery 10 ms apart: handed back at each failure, j1 would be dead-lettered within
  // a fraction of a second; held while the breaker is open, it has been tried far fewer times.
  expect(calls.filter((c) => c.data === "j1").length).toBeLessThan(5);
  expect(await first.stop()).toBe(0);

  dead = false;
  const second = await start();
  await eventually(() => ["j1", "j2", "j3"].every((data) => succeeded(data) >= 1), 20_000);
  // Sentinels: on the dead-letter topic (anything dead-lettered would be there first) and on jobs (concurrency 1:
  // a second delivery of j1..j3 would come before it).
  await publish(second, "jobs-dead", "dead-sentinel");
  await publish(second, "jobs", "jobs-sentinel");
  await eventually(() => succeeded("dead-sentinel") === 1 && succeeded("jobs-sentinel") === 1, 20_000);
  expect(calls.filter((c) => c.topic === "jobs-dead").map((c) => c.data)).toEqual(["dead-sentinel"]);
  expect(["j1", "j2", "j3"].map(succeeded)).toEqual([1, 1, 1]);
});
