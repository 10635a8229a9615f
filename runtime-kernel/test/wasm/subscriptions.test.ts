import { buildGoGuest, eventually } from "@ottavo/test-support";
import { buildTimeoutMs, guestSources, startTestRuntime, type TestRuntime } from "./wasm-support";

/**
 * Functions as pub/sub subscribers, end to end: events published through the gRPC
 * API reach a function subscribed in the Ottavo YAML, and its TopicEventResponse
 * (or its error) decides what the pubsub does, as an app's OnTopicEvent answer
 * does: SUCCESS settles, RETRY and an error redeliver, DROP discards. The orders
 * example counts its deliveries in the state store, which the test reads through
 * the API.
 */
jest.setTimeout(30_000);

let rt: TestRuntime;
let orders: string;

beforeAll(async () => {
  orders = await buildGoGuest(guestSources.goOrders.moduleDir, guestSources.goOrders.pkg);
  rt = await startTestRuntime(`  functions:
    orders:
      path: ${orders}
      subscriptions:
        - { pubsub: pub_subs_demo, topic: orders }`);
}, buildTimeoutMs);

afterAll(async () => {
  await rt?.stop();
});

const publish = (data: string, topic = "orders") =>
  rt.client.publishEvent({ pubsubName: "pub_subs_demo", topic, data: new TextEncoder().encode(data), dataContentType: "text/plain" });

async function read(key: string): Promise<string> {
  return new TextDecoder().decode((await rt.client.getState({ storeName: "state_demo", key })).data);
}

/** Waits until the order is recorded as settled, and answers how many deliveries it took. */
async function settled(order: string, topic = "orders"): Promise<string> {
  await eventually(async () => expect(await read(`orders/${order}`)).toBe(topic));
  return read(`deliveries/${order}`);
}

it("an event published through the API reaches the subscribed function, which settles it (SUCCESS)", async () => {
  await publish("o1");
  expect(await settled("o1")).toBe("1");
  expect(rt.log.lines).toContain("ottavo: subscribed function 'orders' to topic 'orders' of pubsub 'pub_subs_demo'");
});

it("RETRY from the function has the pubsub redeliver the event", async () => {
  await publish("o2:retry-once");
  expect(await settled("o2")).toBe("2");
});

it("an error status from the function redelivers the event, as an app's failed OnTopicEvent does", async () => {
  await publish("o3:fail-once");
  expect(await settled("o3")).toBe("2");
  expect(rt.log.lines.some((l) => l.includes("cannot deliver event") && l.includes("to function 'orders'") && l.includes("order o3 failed on purpose"))).toBe(true);
});

it("DROP discards the event: it is not delivered again (the next event, delivered after it in order, is the sentinel)", async () => {
  await publish("o4:drop");
  await publish("o5");
  expect(await settled("o5")).toBe("1");
  expect(await read("deliveries/o4")).toBe("1");
  expect(await read("orders/o4")).toBe("");
  expect(rt.log.lines.some((l) => l.includes("function 'orders' dropped event"))).toBe(true);
});

it("a function subscribing through a pubsub that is not configured is refused at install", async () => {
  const put = await fetch(`${rt.actuatorUrl}/actuator/functions/orders-2`, {
    method: "PUT",
    body: JSON.stringify({ path: orders, subscriptions: [{ pubsub: "nope", topic: "orders" }] }),
  });
  expect(put.status).toBe(400);
  expect(((await put.json()) as { error: string }).error).toBe("function 'orders-2' subscribes to topic 'orders' of pubsub 'nope', which is not configured (pubsubs: pub_subs_demo)");
});

it("a function installed at run time with a subscription gets the events of its topic, and DELETE removes it with its subscription", async () => {
  const put = await fetch(`${rt.actuatorUrl}/actuator/functions/audit`, {
    method: "PUT",
    body: JSON.stringify({ path: orders, subscriptions: [{ pubsub: "pub_subs_demo", topic: "audit" }] }),
  });
  expect(put.status).toBe(200);
  await publish("a1", "audit");
  expect(await settled("a1", "audit")).toBe("1");
  expect((await fetch(`${rt.actuatorUrl}/actuator/functions/audit`, { method: "DELETE" })).status).toBe(200);
  expect(rt.runtime.functionHost!.has("audit")).toBe(false);
});
