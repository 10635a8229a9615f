/**
 * The resiliency policies applied to deliveries from components to the app, as
 * Dapr's targets.components.<name>.inbound: a runtime process with in-memory
 * pubsubs delivers to an AppCallback server (Connect, in this process) over gRPC.
 * A slow app is cut at the policy's timeout (the event timeout is 60 s) and the
 * event is redelivered; a flaky app succeeds after the runtime's own retries (the
 * pubsub never redelivers, unlike a pubsub without policies); a dead app trips
 * the breaker, deliveries wait in the runtime instead of being handed back, no
 * event reaches the dead-letter topic, and every accepted event arrives once the
 * app is back; a runtime stopped while deliveries wait exits cleanly.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  TopicEventResponse_TopicEventResponseStatus as Status,
  type TopicEventRequest,
} from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { eventually, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { startConnectApp, type ConnectApp } from "../pubsub/app-callback-app";
import { connectClient } from "../pubsub/support";

interface Call {
  readonly pubsub: string;
  readonly topic: string;
  readonly data: string;
  /** What the app answered: a status name, "aborted" (the runtime cancelled the call) or an error code. */
  outcome?: string;
}

const calls: Call[] = [];
/** Per event data: how many more calls answer RETRY before SUCCESS. */
const retriesLeft = new Map<string, number>();
/** While true, OnTopicEvent of dead_bus/jobs fails with UNAVAILABLE. */
let dead = false;
let app: ConnectApp;
let runtime: RunningRuntime;

async function onTopicEvent(request: TopicEventRequest, context: HandlerContext): Promise<{ status: Status }> {
  const call: Call = { pubsub: request.pubsubName, topic: request.topic, data: Buffer.from(request.data).toString("utf8") };
  calls.push(call);
  if (call.data === "hang-once" && calls.filter((c) => c.data === "hang-once").length === 1) {
    // Never answers; lets go once the runtime cancels the call.
    return new Promise((_resolve, reject) =>
      context.signal.addEventListener("abort", () => {
        call.outcome = "aborted";
        reject(context.signal.reason);
      }),
    );
  }
  const left = retriesLeft.get(`${call.pubsub}/${call.data}`) ?? 0;
  if (left > 0) {
    retriesLeft.set(`${call.pubsub}/${call.data}`, left - 1);
    call.outcome = "RETRY";
    return { status: Status.RETRY };
  }
  if (dead && call.topic === "jobs") {
    call.outcome = "UNAVAILABLE";
    throw new ConnectError("the app is down", Code.Unavailable);
  }
  call.outcome = "SUCCESS";
  return { status: Status.SUCCESS };
}

beforeAll(async () => {
  app = await startConnectApp({
    listTopicSubscriptions: async () => ({
      subscriptions: [
        { pubsubName: "slow_bus", topic: "slow" },
        { pubsubName: "flaky_bus", topic: "flaky" },
        { pubsubName: "plain_bus", topic: "flaky" },
        { pubsubName: "dead_bus", topic: "jobs", deadLetterTopic: "jobs-dead" },
        { pubsubName: "dead_bus", topic: "jobs-dead" },
      ],
    }),
    onTopicEvent,
  });
  const quick = `{ redeliveryBackoff: 10ms, maxRedeliveryBackoff: 10ms }`;
  runtime = await startRuntime({
    config: `app: { id: inbound, callbackPort: ${app.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  pubsub:
    slow_bus: { type: in-memory }
    flaky_bus: { type: in-memory, metadata: ${quick} }
    plain_bus: { type: in-memory, metadata: ${quick} }
    dead_bus: { type: in-memory, metadata: { redeliveryBackoff: 10ms, maxRedeliveryBackoff: 10ms, maxDeliveries: 20 } }
resiliency:
  policies:
    timeouts: { short: 300ms }
    retries: { three: { policy: constant, duration: 10ms, maxRetries: 3 } }
    circuitBreakers: { twice: { maxRequests: 1, timeout: 1s, trip: consecutiveFailures >= 2 } }
  targets:
    components:
      slow_bus: { inbound: { timeout: short } }
      flaky_bus: { inbound: { retry: three } }
      dead_bus: { inbound: { circuitBreaker: twice } }
      nowhere: { inbound: { timeout: short } }
`,
  });
  await runtime.waitForStdout("subscribed the app to topic 'jobs-dead' of pubsub 'dead_bus'");
}, 30_000);

afterAll(async () => {
  await runtime?.stop();
  await app?.close();
});

async function publish(pubsubName: string, topic: string, data: string): Promise<void> {
  const connect = connectClient(runtime.apiUrl);
  try {
    await connect.client.publishEvent({ pubsubName, topic, data: Buffer.from(data), dataContentType: "text/plain" });
  } finally {
    connect.close();
  }
}

const outcomes = (pubsub: string, data: string) => calls.filter((c) => c.pubsub === pubsub && c.data === data).map((c) => c.outcome);
const succeeded = (pubsub: string, data: string) => eventually(() => outcomes(pubsub, data).includes("SUCCESS"), 20_000);

/** A sample of the runtime's /metrics (0 when absent). */
async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${runtime.actuatorUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(" ").pop());
}

describe("resiliency policies on deliveries to the app (targets.components.<name>.inbound)", () => {
  it("warns at start about an inbound target that names no pubsub", () => {
    expect(runtime.stderr()).toContain("resiliency targets.components.nowhere.inbound names no pubsub; its policies apply to nothing");
  });

  it("cuts a delivery to a slow app at the policy's timeout (the event timeout is 60 s); the pubsub redelivers it", async () => {
    await publish("slow_bus", "slow", "hang-once");
    await succeeded("slow_bus", "hang-once");
    expect(outcomes("slow_bus", "hang-once")).toEqual(["aborted", "SUCCESS"]);
    await eventually(() =>
      runtime.stderr().includes("to the app: DeadlineExceeded ('inbound' did not answer within 300 ms (resiliency timeout 'short'))"),
    );
  });

  it("retries a flaky app in the runtime: two RETRY answers, then SUCCESS, and the pubsub never redelivers (without policies it does)", async () => {
    for (const bus of ["flaky_bus", "plain_bus"]) retriesLeft.set(`${bus}/f1`, 2);
    for (const bus of ["flaky_bus", "plain_bus"]) {
      await publish(bus, "flaky", "f1");
      await publish(bus, "flaky", "end"); // the sentinel: delivered after f1 is settled (in-memory delivers in order)
    }
    for (const bus of ["flaky_bus", "plain_bus"]) await succeeded(bus, "end");
    expect(outcomes("flaky_bus", "f1")).toEqual(["RETRY", "RETRY", "SUCCESS"]);
    expect(outcomes("plain_bus", "f1")).toEqual(["RETRY", "RETRY", "SUCCESS"]);
    // Counted by the handler the pubsub calls: once the sentinel's SUCCESS is counted, f1's deliveries are too.
    await eventually(async () => (await metric("ottavo_pubsub_deliveries_total", 'pubsub="flaky_bus",topic="flaky",outcome="SUCCESS"')) === 2);
    await eventually(async () => (await metric("ottavo_pubsub_deliveries_total", 'pubsub="plain_bus",topic="flaky",outcome="SUCCESS"')) === 2);
    expect(await metric("ottavo_pubsub_redeliveries_total", 'pubsub="flaky_bus",topic="flaky"')).toBe(0);
    expect(await metric("ottavo_pubsub_deliveries_total", 'pubsub="flaky_bus",topic="flaky",outcome="RETRY"')).toBe(0);
    expect(await metric("ottavo_pubsub_redeliveries_total", 'pubsub="plain_bus",topic="flaky"')).toBe(2);
    expect(await metric("ottavo_pubsub_deliveries_total", 'pubsub="plain_bus",topic="flaky",outcome="RETRY"')).toBe(2);
  });

  it("trips the breaker of a dead app: deliveries wait in the runtime (nothing dead-lettered) and every accepted event arrives once the probe succeeds", async () => {
    dead = true;
    for (const data of ["j1", "j2", "j3"]) await publish("dead_bus", "jobs", data);
    await eventually(() =>
      runtime
        .stderr()
        .includes("circuit breaker 'twice' of topic 'jobs' of pubsub 'dead_bus' is open for the app: deliveries wait (the runtime holds their messages)"),
    );
    // Two failures opened the breaker; since then only probes reach the app, one a second: far below the
    // 20 deliveries (10 ms apart) after which the pubsub would dead-letter j1 if each failure were handed back.
    const whileDead = outcomes("dead_bus", "j1");
    expect(whileDead.every((o) => o === "UNAVAILABLE")).toBe(true);
    expect(whileDead.length).toBeLessThan(20);
    expect([outcomes("dead_bus", "j2"), outcomes("dead_bus", "j3")]).toEqual([[], []]);
    dead = false;
    for (const data of ["j1", "j2", "j3"]) await succeeded("dead_bus", data);
    await eventually(() => runtime.stdout().includes("delivering topic 'jobs' of pubsub 'dead_bus' to the app again"));
    // Nothing was dead-lettered: the sentinel on the dead-letter topic is the only event there.
    await publish("dead_bus", "jobs-dead", "sentinel");
    await succeeded("dead_bus", "sentinel");
    expect(calls.filter((c) => c.topic === "jobs-dead").map((c) => c.data)).toEqual(["sentinel"]);
    expect(calls.filter((c) => c.topic === "jobs" && c.outcome === "SUCCESS").map((c) => c.data)).toEqual(["j1", "j2", "j3"]);
  }, 30_000);

  it("a runtime stopped while a delivery waits for the open breaker ends the wait and exits cleanly", async () => {
    dead = true;
    const before = calls.length;
    await publish("dead_bus", "jobs", "j4");
    // Two failures open the breaker again; j4 then waits for its probe.
    await eventually(() => calls.slice(before).filter((c) => c.data === "j4").length >= 2);
    await eventually(() => runtime.stderr().split("is open for the app: deliveries wait").length === 3);
    expect(await runtime.stop()).toBe(0);
    expect(runtime.stderr()).not.toContain("still under way");
  }, 30_000);
});
