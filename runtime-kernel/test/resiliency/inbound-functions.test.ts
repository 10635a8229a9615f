import { buildGoGuest, eventually } from "@ottavo/test-support";
import { demoConfig } from "../e2e/support";
import { buildTimeoutMs, guestSources, startTestRuntime, type TestRuntime } from "../wasm/wasm-support";

/**
 * Inbound resiliency policies on the other path from a pubsub: a wasm function
 * subscribed to it (the Go orders example, which counts its deliveries in the
 * state store). With a retry policy on the pubsub's inbound target, a RETRY answer
 * or an error from the function is retried by the runtime, so the pubsub never
 * redelivers (no "cannot deliver" report, which each hand-back to the pubsub
 * makes, as runtime-kernel/test/wasm/subscriptions.test.ts shows without policies).
 */
jest.setTimeout(30_000);

let rt: TestRuntime;

beforeAll(async () => {
  const orders = await buildGoGuest(guestSources.goOrders.moduleDir, guestSources.goOrders.pkg);
  rt = await startTestRuntime(
    `  functions:
    orders:
      path: ${orders}
      subscriptions:
        - { pubsub: pub_subs_demo, topic: orders }`,
    `${demoConfig({ appId: "wasm-inbound" })}resiliency:
  policies:
    retries: { twice: { policy: constant, duration: 10ms, maxRetries: 2 } }
  targets:
    components:
      pub_subs_demo: { inbound: { retry: twice } }
`,
  );
}, buildTimeoutMs);

afterAll(async () => {
  await rt?.stop();
});

const publish = (data: string) =>
  rt.client.publishEvent({ pubsubName: "pub_subs_demo", topic: "orders", data: new TextEncoder().encode(data), dataContentType: "text/plain" });

async function read(key: string): Promise<string> {
  return new TextDecoder().decode((await rt.client.getState({ storeName: "state_demo", key })).data);
}

it("a function's RETRY answer and its error are retried by the runtime: the pubsub delivers each event once", async () => {
  await publish("r1:retry-once");
  await publish("f1:fail-once");
  await publish("s1"); // the sentinel: delivered after the two are settled (in-memory delivers in order)
  await eventually(async () => expect(await read("orders/s1")).toBe("orders"));
  expect([await read("deliveries/r1"), await read("deliveries/f1"), await read("deliveries/s1")]).toEqual(["2", "2", "1"]);
  // Handed back to the pubsub, a RETRY or an error is reported once per run of failures ("cannot deliver event
  // ... the pubsub redelivers it"), as it is without policies; retried in the runtime, it is not.
  expect(rt.log.lines.filter((l) => l.includes("cannot deliver event"))).toEqual([]);
});
