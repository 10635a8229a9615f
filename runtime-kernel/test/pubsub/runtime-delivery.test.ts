/**
 * Delivery wired into the runtime's stages, in this process: started once the
 * API serves, only with a callback port and a pubsub, and stopped at shutdown
 * before the components close, after the deliveries under way finished.
 */
import { eventually } from "@ottavo/test-support";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { inMemoryPubsubAdapter } from "@ottavo/adapter-memory";
import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { TopicEventResponse_TopicEventResponseStatus as Status } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { AdapterRegistry } from "../../src/registry/adapter-registry";
import { Runtime, type RuntimeLog } from "../../src/runtime";
import { startConnectApp } from "./app-callback-app";
import { connectClient } from "./support";

function configFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "ottavo-delivery-")), "ottavo.yaml");
  writeFileSync(file, text);
  return file;
}

function quietLog(): RuntimeLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (l) => void lines.push(l), warn: (l) => void lines.push(l), error: (l) => void lines.push(l) };
}

/** The in-memory pubsub, telling `onClose` when the runtime closes it and `onUnsubscribe` when a subscription closes. */
function registry(onClose: () => void = () => undefined, onUnsubscribe: () => void = () => undefined): AdapterRegistry {
  const pubsub: CapabilityAdapterFactory<"pubsub"> = {
    ...inMemoryPubsubAdapter,
    async create(raw, context) {
      const component = await inMemoryPubsubAdapter.create(raw, context);
      const close = component.close.bind(component);
      component.close = async () => {
        onClose();
        await close();
      };
      const subscribe = component.subscribe.bind(component);
      component.subscribe = async (request, handler) => {
        const subscription = await subscribe(request, handler);
        return {
          close: async () => {
            onUnsubscribe();
            await subscription.close();
          },
        };
      };
      return component;
    },
  };
  return new AdapterRegistry([pubsub as CapabilityAdapterFactory]);
}

/** Publishes through the runtime's API, as another app would. */
async function publishThrough(runtime: Runtime, topic: string, data: string): Promise<void> {
  const { host, port } = runtime.apiAddress as { host: string; port: number };
  const connect = connectClient(`http://${host}:${port}`);
  try {
    await connect.client.publishEvent({ pubsubName: "bus", topic, data: Buffer.from(data), dataContentType: "text/plain" });
  } finally {
    connect.close();
  }
}

it("does not call the app without a pubsub, nor without a callback port", async () => {
  let listed = 0;
  const app = await startConnectApp({
    listTopicSubscriptions: async () => {
      listed++;
      return { subscriptions: [] };
    },
  });
  const noPubsub = await Runtime.start({
    configFile: configFile(`app: { id: a, callbackPort: ${app.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components: {}
`),
    shutdownTimeoutMs: 1_000,
    log: quietLog(),
    registry: registry(),
  });
  const noCallback = await Runtime.start({
    configFile: configFile(`app: { id: a }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  pubsub:
    p: { type: in-memory }
`),
    shutdownTimeoutMs: 1_000,
    log: quietLog(),
    registry: registry(),
  });
  // Delivery starts within Runtime.start or not at all: neither runtime has one.
  expect(noPubsub.appDelivery).toBeUndefined();
  expect(noCallback.appDelivery).toBeUndefined();
  // The sentinel: a runtime with both, started after them, lists the app's topics, and its
  // listing is the only one the app saw.
  const both = await Runtime.start({
    configFile: configFile(`app: { id: a, callbackPort: ${app.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  pubsub:
    p: { type: in-memory }
`),
    shutdownTimeoutMs: 1_000,
    log: quietLog(),
    registry: registry(),
  });
  await both.appDelivery!.settled;
  expect(listed).toBe(1);
  await noPubsub.shutdown();
  await noCallback.shutdown();
  await both.shutdown();
  await app.close();
  expect(listed).toBe(1);
});

it("lets a delivery under way finish at shutdown, before the components close", async () => {
  const events: string[] = [];
  let release: (() => void) | undefined;
  const app = await startConnectApp({
    listTopicSubscriptions: async () => ({ subscriptions: [{ pubsubName: "bus", topic: "orders" }] }),
    onTopicEvent: () => {
      events.push("delivered");
      return new Promise((resolve) => (release = () => resolve({ status: Status.SUCCESS })));
    },
  });
  const log = quietLog();
  const runtime = await Runtime.start({
    configFile: configFile(`app: { id: shop, callbackPort: ${app.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  pubsub:
    bus: { type: in-memory }
`),
    shutdownTimeoutMs: 5_000,
    log,
    registry: registry(
      () => events.push("components closed"),
      () => events.push("unsubscribed"),
    ),
  });
  await runtime.appDelivery!.settled;
  expect(log.lines).toContain("ottavo: subscribed the app to topic 'orders' of pubsub 'bus'");

  await publishThrough(runtime, "orders", "x");
  await eventually(() => release !== undefined);

  const stopping = runtime.shutdown();
  // The shutdown has taken the subscription away and now waits for the delivery under way.
  await eventually(() => events.includes("unsubscribed"));
  expect(events).toEqual(["delivered", "unsubscribed"]);
  events.push("app answered");
  release!();
  expect(await stopping).toEqual({ drained: true });
  expect(events).toEqual(["delivered", "unsubscribed", "app answered", "components closed"]);
  await app.close();
});

it("cancels a delivery still under way when the shutdown timeout passes, and says so", async () => {
  let reached = false;
  const app = await startConnectApp({
    listTopicSubscriptions: async () => ({ subscriptions: [{ pubsubName: "bus", topic: "orders" }] }),
    onTopicEvent: (_request, context) => {
      reached = true;
      return new Promise((_resolve, reject) => context.signal.addEventListener("abort", () => reject(context.signal.reason)));
    },
  });
  const log = quietLog();
  const runtime = await Runtime.start({
    configFile: configFile(`app: { id: shop, callbackPort: ${app.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  pubsub:
    bus: { type: in-memory }
`),
    shutdownTimeoutMs: 200,
    log,
    registry: registry(),
  });
  await runtime.appDelivery!.settled;
  await publishThrough(runtime, "orders", "x");
  await eventually(() => reached);
  expect(await runtime.shutdown()).toEqual({ drained: false });
  expect(log.lines).toContain(
    "ottavo: warning: 1 delivery(ies) to the app still under way after 200 ms; cancelled (the pubsub redelivers them)",
  );
  await app.close();
});
