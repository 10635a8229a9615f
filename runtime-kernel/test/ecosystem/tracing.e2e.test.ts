/**
 * OpenTelemetry tracing end to end: the runtime exports OTLP/HTTP to a receiver
 * this test starts, as a collector would listen. Calls come from real clients
 * (@grpc/grpc-js on the gRPC fast path, Connect JSON over HTTP/1.1 with fetch);
 * the caller's W3C traceparent parents the rpc's span, component operations are
 * its children, and a published event carries the trace into its CloudEvent and
 * onto its delivery to the app (traceparent header and metadata). Tracing is off
 * unless the config turns it on: a runtime with `enabled: false` sends nothing.
 */
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { TopicEventRequest } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { TopicEventResponse_TopicEventResponseStatus as EventStatus } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { eventually, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { layottoStub, type Message, type RuntimeStub } from "../e2e/layotto-stub";
import { startConnectApp, type ConnectApp } from "../pubsub/app-callback-app";
import { connectClient, openTopicStream } from "../pubsub/support";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./otlp-receiver";

/** What the app saw of one delivered event: its traceparent header and its metadata. */
interface Delivery {
  readonly event: TopicEventRequest;
  readonly traceparent: string | null;
}

const runtimeService = "spec.proto.runtime.v1.Runtime";
const server = 2;
const client = 3;
const producer = 4;
const statusError = 2;

/** A caller's trace context: a fresh trace id and parent span id, sampled. */
function callerTrace(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** A unary call with request metadata, as a grpc-js app sends it. */
function call(stub: RuntimeStub, rpc: string, request: Message, headers: Record<string, string> = {}): Promise<Message> {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  const method = stub[rpc] as (request: Message, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response: Message) => void) => void;
  return new Promise((resolve, reject) => method.call(stub, request, metadata, (error, response) => (error ? reject(error) : resolve(response))));
}

function appConfig(appPort: number, tracing: string): string {
  return `
app: { id: traced-app, callbackPort: ${appPort} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
${tracing}
components:
  state:
    state_demo: { type: in-memory }
  pubsub:
    events: { type: in-memory }
`;
}

async function startApp(deliveries: Delivery[]): Promise<ConnectApp> {
  return startConnectApp({
    listTopicSubscriptions: () => ({ subscriptions: [{ pubsubName: "events", topic: "orders" }] }),
    onTopicEvent: (event, context) => {
      deliveries.push({ event, traceparent: context.requestHeader.get("traceparent") });
      return { status: EventStatus.SUCCESS };
    },
  });
}

/** What a block's tests get from receiverAppAndRuntime, once its beforeAll has run. */
interface TracedSetup {
  receiver: OtlpReceiver;
  app: ConnectApp;
  runtime: RunningRuntime;
  stub: RuntimeStub;
  readonly deliveries: Delivery[];
}

/**
 * An OTLP receiver, the app and a runtime with the given tracing setting (from the
 * receiver's endpoint), started before the block's tests; the block's test stops the
 * runtime itself (what it checks happens at the stop), the rest is closed after it.
 */
function receiverAppAndRuntime(tracing: (endpoint: string) => string): TracedSetup {
  const setup = { deliveries: [] } as unknown as TracedSetup;
  beforeAll(async () => {
    setup.receiver = await startOtlpReceiver();
    setup.app = await startApp(setup.deliveries);
    setup.runtime = await startRuntime({ config: appConfig(setup.app.port, tracing(setup.receiver.endpoint)) });
    await setup.runtime.waitForStdout("subscribed the app to topic 'orders'");
    setup.stub = layottoStub(setup.runtime.apiPort);
  }, 30_000);
  afterAll(async () => {
    setup.stub?.close();
    await setup.app?.close();
    await setup.receiver?.close();
  });
  return setup;
}

describe("with tracing on", () => {
  let receiver: OtlpReceiver;
  let app: ConnectApp;
  let runtime: RunningRuntime;
  let stub: RuntimeStub;
  const deliveries: Delivery[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    app = await startApp(deliveries);
    runtime = await startRuntime({
      config: appConfig(app.port, `tracing: { enabled: true, endpoint: "${receiver.endpoint}", exportInterval: 50ms }`),
    });
    await runtime.waitForStdout("subscribed the app to topic 'orders'");
    stub = layottoStub(runtime.apiPort);
  }, 30_000);

  afterAll(async () => {
    stub?.close();
    if (runtime) expect(await runtime.stop()).toBe(0);
    await app?.close();
    await receiver?.close();
  });

  const spansOf = (traceId: string) => spansOfTrace(receiver, traceId);
  const named = (spans: readonly ReceivedSpan[], name: string) => {
    const found = spans.filter((span) => span.name === name);
    expect([name, found.length]).toEqual([name, 1]);
    return found[0]!;
  };

  it("makes a span per rpc, child of the caller's traceparent, and a child span per component operation (grpc-js, fast path)", async () => {
    const caller = callerTrace();
    await call(stub, "SaveState", { store_name: "state_demo", states: [{ key: "k", value: Buffer.from("v") }] }, { traceparent: caller.traceparent });
    await eventually(() => expect(spansOf(caller.traceId)).toHaveLength(2));
    const spans = spansOf(caller.traceId);
    const rpc = named(spans, `${runtimeService}/SaveState`);
    expect(rpc).toMatchObject({
      service: "traced-app",
      parentSpanId: caller.spanId,
      kind: server,
      statusCode: 0,
      attributes: { "rpc.system": "grpc", "rpc.service": runtimeService, "rpc.method": "SaveState", "ottavo.protocol": "grpc", "rpc.grpc.status_code": 0 },
    });
    const set = spans.find((span) => span.parentSpanId === rpc.spanId)!;
    expect(set).toMatchObject({ name: "state.set", kind: client, attributes: { "ottavo.capability": "state", "ottavo.component": "state_demo", "ottavo.operation": "set" } });
  });

  it("traces Connect JSON calls too, and marks a failed call's span with its gRPC status", async () => {
    const caller = callerTrace();
    const response = await fetch(`${runtime.apiUrl}/${runtimeService}/GetState`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: caller.traceparent },
      body: JSON.stringify({ storeName: "nope", key: "k" }),
    });
    expect(response.status).toBe(400);
    await eventually(() => expect(spansOf(caller.traceId)).toHaveLength(1));
    expect(spansOf(caller.traceId)[0]).toMatchObject({
      name: `${runtimeService}/GetState`,
      parentSpanId: caller.spanId,
      statusCode: statusError,
      attributes: { "ottavo.protocol": "connect", "rpc.grpc.status_code": 3 },
    });
  });

  it("starts a new trace for a call without a traceparent", async () => {
    const before = receiver.spans.length;
    await call(stub, "GetState", { store_name: "state_demo", key: "k" });
    await eventually(() => expect(receiver.spans.slice(before).some((span) => span.name === `${runtimeService}/GetState` && span.parentSpanId === "")).toBe(true));
  });

  it("follows a caller's not-sampled flag: nothing of that trace is recorded", async () => {
    const unsampled = callerTrace();
    await call(stub, "SaveState", { store_name: "state_demo", states: [{ key: "u", value: Buffer.from("v") }] }, { traceparent: unsampled.traceparent.replace(/-01$/, "-00") });
    // The sentinel: a sampled call made after it is exported, so the first one would have been by then.
    const sampled = callerTrace();
    await call(stub, "GetState", { store_name: "state_demo", key: "u" }, { traceparent: sampled.traceparent });
    await eventually(() => expect(spansOf(sampled.traceId)).toHaveLength(2));
    expect(spansOf(unsampled.traceId)).toEqual([]);
  });

  it("carries the trace into the published CloudEvent and onto the delivery to the app (header and metadata)", async () => {
    const caller = callerTrace();
    await call(stub, "PublishEvent", { pubsub_name: "events", topic: "orders", data: Buffer.from("tea"), data_content_type: "text/plain" }, { traceparent: caller.traceparent });
    await eventually(() => expect(deliveries.filter((d) => d.traceparent?.includes(caller.traceId))).toHaveLength(1));
    await eventually(() => expect(spansOf(caller.traceId)).toHaveLength(3));
    const spans = spansOf(caller.traceId);
    const publish = named(spans, `${runtimeService}/PublishEvent`);
    expect(publish.parentSpanId).toBe(caller.spanId);
    expect(named(spans, "pubsub.publish").parentSpanId).toBe(publish.spanId);
    const deliver = named(spans, "orders deliver");
    // The CloudEvent's traceparent is the PublishEvent span's; the delivery span is its child.
    expect(deliver).toMatchObject({ parentSpanId: publish.spanId, kind: producer, attributes: { "messaging.destination.name": "orders", "ottavo.pubsub": "events", "ottavo.delivery": "callback" } });
    const delivery = deliveries.find((d) => d.traceparent?.includes(caller.traceId))!;
    expect(delivery.traceparent).toBe(`00-${caller.traceId}-${deliver.spanId}-01`);
    expect(delivery.event.metadata.traceparent).toBe(delivery.traceparent);
  });

  it("gives each event a SubscribeTopicEvents stream hands out a delivery span, its traceparent in the event's metadata", async () => {
    const { client, close } = connectClient(runtime.apiUrl);
    const stream = await openTopicStream(client, "events", "streamed");
    const caller = callerTrace();
    await call(stub, "PublishEvent", { pubsub_name: "events", topic: "streamed", data: Buffer.from("tea"), data_content_type: "text/plain" }, { traceparent: caller.traceparent });
    const event = await stream.next();
    stream.answer(event.id, EventStatus.SUCCESS);
    await eventually(() => expect(spansOf(caller.traceId)).toHaveLength(3));
    await stream.end();
    close();
    const spans = spansOf(caller.traceId);
    const publish = named(spans, `${runtimeService}/PublishEvent`);
    const deliver = named(spans, "streamed deliver");
    expect(deliver).toMatchObject({ parentSpanId: publish.spanId, kind: producer, attributes: { "ottavo.delivery": "stream", "ottavo.pubsub": "events" } });
    expect(event.metadata.traceparent).toBe(`00-${caller.traceId}-${deliver.spanId}-01`);
  });
});

describe("with tracing off (the default)", () => {
  const setup = receiverAppAndRuntime((endpoint) => `tracing: { enabled: false, endpoint: "${endpoint}", exportInterval: 50ms }`);

  it("passes the caller's traceparent through to the app unchanged, and exports nothing, not even at shutdown", async () => {
    const { receiver, runtime, stub, deliveries } = setup;
    const caller = callerTrace();
    await call(stub, "SaveState", { store_name: "state_demo", states: [{ key: "k", value: Buffer.from("v") }] }, { traceparent: caller.traceparent });
    await call(stub, "PublishEvent", { pubsub_name: "events", topic: "orders", data: Buffer.from("tea"), data_content_type: "text/plain" }, { traceparent: caller.traceparent });
    await eventually(() => expect(deliveries).toHaveLength(1));
    expect(deliveries[0]!.traceparent).toBe(caller.traceparent);
    expect(deliveries[0]!.event.metadata.traceparent).toBe(caller.traceparent);
    // The sentinel: a shutdown flushes whatever a tracer holds; none was started, so the receiver got no request.
    expect(await runtime.stop()).toBe(0);
    expect(receiver.requests).toBe(0);
  });
});

describe("at a graceful stop", () => {
  const setup = receiverAppAndRuntime((endpoint) => `tracing: { enabled: true, endpoint: "${endpoint}", exportInterval: 1h }`);

  it("sends the spans it still holds before the process ends, and its metrics count them", async () => {
    const { receiver, runtime, stub } = setup;
    const caller = callerTrace();
    await call(stub, "SaveState", { store_name: "state_demo", states: [{ key: "k", value: Buffer.from("v") }] }, { traceparent: caller.traceparent });
    const metrics = await (await fetch(`${runtime.actuatorUrl}/metrics`)).text();
    expect(metrics).toContain('ottavo_tracing_spans_dropped_total{reason="queue_full"} 0');
    expect(metrics).toContain("ottavo_tracing_export_worker_failures_total 0");
    // The sentinel: with an hour between exports, nothing has been sent yet.
    expect(receiver.requests).toBe(0);
    stub.close();
    expect(await runtime.stop()).toBe(0);
    expect(spansOfTrace(receiver, caller.traceId).map((span) => span.name).sort()).toEqual([`${runtimeService}/SaveState`, "state.set"]);
  });
});

function spansOfTrace(receiver: OtlpReceiver, traceId: string): ReceivedSpan[] {
  return receiver.spans.filter((span) => span.traceId === traceId);
}
