/**
 * Prometheus metrics on the actuator's /metrics, as an operator reads them with
 * `curl -s 127.0.0.1:34999/metrics | grep ottavo_`: per rpc and protocol (gRPC on
 * the fast path, Connect JSON on Connect-ES), per component operation, pub/sub
 * deliveries to the app and to SubscribeTopicEvents streams, redeliveries and
 * dead letters, and the process.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { TopicEventResponse_TopicEventResponseStatus as EventStatus } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { eventually, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { startConnectApp, type ConnectApp } from "../pubsub/app-callback-app";
import { connectClient, openTopicStream } from "../pubsub/support";

let app: ConnectApp;
let runtime: RunningRuntime;
const delivered: string[] = [];
/** Events of the poison topic, and what reached its dead-letter topic. */
const poisoned: string[] = [];
const deadLettered: string[] = [];

beforeAll(async () => {
  let failedOnce = false;
  app = await startConnectApp({
    listTopicSubscriptions: () => ({
      subscriptions: [
        { pubsubName: "events", topic: "orders" },
        { pubsubName: "dlq", topic: "poison", metadata: { deadLetterTopic: "poison-dead" } },
        { pubsubName: "dlq", topic: "poison-dead" },
      ],
    }),
    onTopicEvent: (event) => {
      if (event.topic === "poison") {
        poisoned.push(event.id);
        return { status: EventStatus.RETRY };
      }
      if (event.topic === "poison-dead") {
        deadLettered.push(new TextDecoder().decode(event.data));
        return { status: EventStatus.SUCCESS };
      }
      delivered.push(event.id);
      if (!failedOnce) {
        failedOnce = true;
        return { status: EventStatus.RETRY };
      }
      return { status: EventStatus.SUCCESS };
    },
  });
  runtime = await startRuntime({
    config: `
app: { id: metrics-app, callbackPort: ${app.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    state_demo: { type: in-memory }
  pubsub:
    events: { type: in-memory, metadata: { redeliveryBackoff: 10ms } }
    dlq: { type: in-memory, metadata: { redeliveryBackoff: 10ms, maxDeliveries: 3 } }
`,
  });
  await runtime.waitForStdout("subscribed the app to topic 'orders'");
  await runtime.waitForStdout("subscribed the app to topic 'poison'");
  await runtime.waitForStdout("subscribed the app to topic 'poison-dead'");
}, 30_000);

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
  await app?.close();
});

/** The ottavo_ samples of /metrics, fetched with curl as the README shows it. */
async function scrape(): Promise<Map<string, number>> {
  const { stdout } = await promisify(execFile)("curl", ["-s", `${runtime.actuatorUrl}/metrics`]);
  const samples = new Map<string, number>();
  for (const line of stdout.split("\n")) {
    const match = /^(ottavo_\S+) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

const runtimeRpc = (method: string, protocol: string) =>
  `service="spec.proto.runtime.v1.Runtime",method="${method}",protocol="${protocol}"`;

it("counts and times every rpc per protocol and status code, on both serving paths", async () => {
  const { client, close } = connectClient(runtime.apiUrl);
  await client.saveState({ storeName: "state_demo", states: [{ key: "k", value: new Uint8Array([1]) }] });
  await client.getState({ storeName: "state_demo", key: "k" });
  await client.getState({ storeName: "nope", key: "k" }).catch(() => undefined);
  close();
  await fetch(`${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/GetState`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ storeName: "state_demo", key: "k" }),
  });
  const samples = await scrape();
  expect(samples.get(`ottavo_rpc_requests_total{${runtimeRpc("SaveState", "grpc")},code="OK"}`)).toBe(1);
  expect(samples.get(`ottavo_rpc_requests_total{${runtimeRpc("GetState", "grpc")},code="OK"}`)).toBe(1);
  expect(samples.get(`ottavo_rpc_requests_total{${runtimeRpc("GetState", "grpc")},code="INVALID_ARGUMENT"}`)).toBe(1);
  expect(samples.get(`ottavo_rpc_requests_total{${runtimeRpc("GetState", "connect")},code="OK"}`)).toBe(1);
  expect(samples.get(`ottavo_rpc_duration_seconds_count{${runtimeRpc("GetState", "grpc")}}`)).toBe(2);
  expect(samples.get(`ottavo_rpc_duration_seconds_bucket{le="+Inf",${runtimeRpc("GetState", "grpc")}}`)).toBe(2);
  expect(samples.get(`ottavo_rpc_in_flight{${runtimeRpc("GetState", "grpc")}}`)).toBe(0);
});

it("times component operations and counts their errors", async () => {
  const samples = await scrape();
  const op = (operation: string) => `capability="state",component="state_demo",operation="${operation}"`;
  expect(samples.get(`ottavo_component_operation_duration_seconds_count{${op("set")}}`)).toBeGreaterThanOrEqual(1);
  expect(samples.get(`ottavo_component_operation_duration_seconds_count{${op("get")}}`)).toBeGreaterThanOrEqual(2);
  expect(samples.get(`ottavo_component_operation_errors_total{${op("get")}}`)).toBe(0);
});

it("counts deliveries to the app by outcome: a RETRY, then the redelivery's SUCCESS", async () => {
  const { client, close } = connectClient(runtime.apiUrl);
  await client.publishEvent({ pubsubName: "events", topic: "orders", data: new TextEncoder().encode("tea"), dataContentType: "text/plain" });
  close();
  const labels = `pubsub="events",topic="orders"`;
  await eventually(async () => {
    const samples = await scrape();
    expect(samples.get(`ottavo_pubsub_deliveries_total{${labels},outcome="SUCCESS"}`)).toBe(1);
  });
  const samples = await scrape();
  expect(samples.get(`ottavo_pubsub_deliveries_total{${labels},outcome="RETRY"}`)).toBe(1);
  expect(samples.get(`ottavo_pubsub_deliveries_total{${labels},outcome="DROP"}`)).toBe(0);
  expect(samples.get(`ottavo_pubsub_delivery_duration_seconds_count{${labels}}`)).toBe(2);
  expect(samples.get(`ottavo_pubsub_deliveries_in_flight{${labels}}`)).toBe(0);
  expect(new Set(delivered).size).toBe(1);
});

it("counts redeliveries and dead letters: an event the app always retries goes to the dead-letter topic after maxDeliveries", async () => {
  const { client, close } = connectClient(runtime.apiUrl);
  await client.publishEvent({ pubsubName: "dlq", topic: "poison", data: new TextEncoder().encode("bad"), dataContentType: "text/plain" });
  close();
  await eventually(() => expect(deadLettered).toEqual(["bad"]));
  const labels = `pubsub="dlq",topic="poison"`;
  await eventually(async () => {
    const samples = await scrape();
    expect(samples.get(`ottavo_pubsub_dead_letters_total{${labels},dead_letter_topic="poison-dead"}`)).toBe(1);
  });
  const samples = await scrape();
  expect(poisoned).toHaveLength(3);
  expect(samples.get(`ottavo_pubsub_deliveries_total{${labels},outcome="RETRY"}`)).toBe(3);
  expect(samples.get(`ottavo_pubsub_redeliveries_total{${labels}}`)).toBe(2);
  expect(samples.get(`ottavo_pubsub_deliveries_total{pubsub="dlq",topic="poison-dead",outcome="SUCCESS"}`)).toBe(1);
  // The sentinel: a topic without a dead-letter topic has no dead-letter series at all.
  expect([...samples.keys()].some((key) => key.startsWith("ottavo_pubsub_dead_letters_total") && key.includes(`topic="orders"`))).toBe(false);
});

it("counts deliveries to a SubscribeTopicEvents stream the same way", async () => {
  const { client, close } = connectClient(runtime.apiUrl);
  const stream = await openTopicStream(client, "events", "streamed");
  await client.publishEvent({ pubsubName: "events", topic: "streamed", data: new TextEncoder().encode("one"), dataContentType: "text/plain" });
  const first = await stream.next();
  stream.answer(first.id, EventStatus.RETRY);
  const again = await stream.next();
  expect(again.id).toBe(first.id);
  stream.answer(again.id, EventStatus.SUCCESS);
  const labels = `pubsub="events",topic="streamed"`;
  await eventually(async () => {
    const samples = await scrape();
    expect(samples.get(`ottavo_pubsub_deliveries_total{${labels},outcome="SUCCESS"}`)).toBe(1);
  });
  await stream.end();
  close();
  const samples = await scrape();
  expect(samples.get(`ottavo_pubsub_deliveries_total{${labels},outcome="RETRY"}`)).toBe(1);
  expect(samples.get(`ottavo_pubsub_redeliveries_total{${labels}}`)).toBe(1);
  expect(samples.get(`ottavo_pubsub_deliveries_in_flight{${labels}}`)).toBe(0);
});

it("reports the process: CPU, memory, event loop lag, with the ottavo_ prefix", async () => {
  const samples = await scrape();
  expect(samples.get("ottavo_process_cpu_seconds_total")).toBeGreaterThan(0);
  expect(samples.get("ottavo_process_resident_memory_bytes")).toBeGreaterThan(0);
  expect(samples.has("ottavo_nodejs_eventloop_lag_seconds")).toBe(true);
});

it("metrics: { enabled: false } serves calls unmeasured and no /metrics (404), the rest of the actuator as before", async () => {
  const off = await startRuntime({
    config: `
app: { id: metrics-off }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
metrics: { enabled: false }
components:
  state:
    state_demo: { type: in-memory }
`,
  });
  try {
    const { client, close } = connectClient(off.apiUrl);
    await client.saveState({ storeName: "state_demo", states: [{ key: "k", value: new Uint8Array([7]) }] });
    expect((await client.getState({ storeName: "state_demo", key: "k" })).data).toEqual(new Uint8Array([7]));
    close();
    const { stdout } = await promisify(execFile)("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${off.actuatorUrl}/metrics`]);
    expect(stdout).toBe("404");
    expect((await fetch(`${off.actuatorUrl}/actuator/health/readiness`)).status).toBe(200);
  } finally {
    expect(await off.stop()).toBe(0);
  }
});
