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

/** The in-memory pubsub, telling `onClose` when the runtime closes it. */
function registry(onClose: () => void = () => undefined): AdapterRegistry {
  const pubsub: CapabilityAdapterFactory<"pubsub"> = {
    ...inMemoryPubsubAdapter,
    async create(raw, context) {
      const component = await inMemoryPubsubAdapter.create(raw, context);
      const close = component.close.bind(component);
      component.close = async () => {
        onClose();
        await close();
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
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(noPubsub.appDelivery).toBeUndefined();
  expect(noCallback.appDelivery).toBeUndefined();
  await noPubsub.shutdown();
  await noCallback.shutdown();
  await app.close();
  expect(listed).toBe(0);
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
    registry: registry(() => events.push("components closed")),
  });
  await runtime.appDelivery!.settled;
  expect(log.lines).toContain("ottavo: subscribed the app to topic 'orders' of pubsub 'bus'");

  await publishThrough(runtime, "orders", "x");
  await eventually(() => release !== undefined);

  const stopping = runtime.shutdown();
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(events).toEqual(["delivered"]);
  events.push("app answered");
  release!();
  expect(await stopping).toEqual({ drained: true });
  expect(events).toEqual(["delivered", "app answered", "components closed"]);
  await app.close();
});

it("cancels a delivery still under way when the shutdown timeout passes, and says so", async () => {
  const app = await startConnectApp({
    listTopicSubscriptions: async () => ({ subscriptions: [{ pubsubName: "bus", topic: "orders" }] }),
    onTopicEvent: (_request, context) =>
      new Promise((_resolve, reject) => context.signal.addEventListener("abort", () => reject(context.signal.reason))),
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
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await runtime.shutdown()).toEqual({ drained: false });
  expect(log.lines).toContain(
    "ottavo: warning: 1 delivery(ies) to the app still under way after 200 ms; cancelled (the pubsub redelivers them)",
  );
  await app.close();
});
