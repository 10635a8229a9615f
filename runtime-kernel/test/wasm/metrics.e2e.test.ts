/**
 * Host calls pass the same pipeline steps as gRPC calls: a function's state.get is
 * counted in ottavo_rpc_requests_total with protocol "wasm" and its gRPC code, its
 * errors are mapped as a client's would be, and events delivered to a subscribed
 * function are counted like the app's, all in a runtime process scraped over HTTP.
 */
import { buildGoGuest, eventually, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { buildTimeoutMs, guestSources } from "./wasm-support";

let runtime: RunningRuntime;
let functionsUrl: string;

beforeAll(async () => {
  const [stock, orders] = await Promise.all([
    buildGoGuest(guestSources.goStock.moduleDir, guestSources.goStock.pkg),
    buildGoGuest(guestSources.goOrders.moduleDir, guestSources.goOrders.pkg),
  ]);
  runtime = await startRuntime({
    config: `
app: { id: wasm-metrics }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    state_demo: { type: in-memory }
  lock:
    lock_demo: { type: in-memory }
  pubsub:
    pub_subs_demo: { type: in-memory }
wasm:
  address: 127.0.0.1:0
  functions:
    stock: { path: ${stock} }
    stock-denied: { path: ${stock}, components: [lock_demo] }
    orders:
      path: ${orders}
      subscriptions: [{ pubsub: pub_subs_demo, topic: orders }]
`,
  });
  functionsUrl = `http://${/serving functions on (\S+)/.exec(runtime.stdout())![1]}`;
}, buildTimeoutMs);

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

/** A Runtime rpc over Connect JSON. */
async function rpc(method: string, body: object): Promise<Record<string, unknown>> {
  const response = await fetch(`${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${runtime.actuatorUrl}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(ottavo_\S+) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

const wasmRpc = (method: string, code: string) => `ottavo_rpc_requests_total{service="spec.proto.runtime.v1.Runtime",method="${method}",protocol="wasm",code="${code}"}`;

it("counts each host call under its rpc with protocol wasm and the code the guest got", async () => {
  await rpc("SaveState", { storeName: "state_demo", states: [{ key: "book1", value: Buffer.from("100").toString("base64") }] });
  for (let i = 0; i < 2; i++) expect(await (await fetch(`${functionsUrl}/stock?name=book1`)).text()).toBe("There are 100 inventories for book1.");
  const denied = await fetch(`${functionsUrl}/stock-denied?name=book1`);
  expect(denied.status).toBe(412);
  expect(await denied.text()).toBe("state store is not configured");
  const samples = await scrape();
  expect(samples.get(wasmRpc("GetState", "OK"))).toBe(2);
  expect(samples.get(wasmRpc("GetState", "FAILED_PRECONDITION"))).toBe(1);
  expect(samples.get(`ottavo_rpc_in_flight{service="spec.proto.runtime.v1.Runtime",method="GetState",protocol="wasm"}`)).toBe(0);
  expect(samples.get(`ottavo_rpc_requests_total{service="spec.proto.runtime.v1.Runtime",method="SaveState",protocol="connect",code="OK"}`)).toBe(1);
  // stock runs inline (auto: get_state over in-memory stores): its reads are the store's synchronous get, timed as the async one is.
  const stock = (await (await fetch(`${runtime.actuatorUrl}/actuator/functions/stock`)).json()) as { execution: string };
  expect(stock.execution).toBe("inline");
  expect(samples.get(`ottavo_component_operation_duration_seconds_count{capability="state",component="state_demo",operation="get"}`)).toBe(2);
});

it("counts events delivered to a subscribed function as the app's, with the host calls it made", async () => {
  await rpc("PublishEvent", { pubsubName: "pub_subs_demo", topic: "orders", data: Buffer.from("o1").toString("base64"), dataContentType: "text/plain" });
  await eventually(async () => expect((await rpc("GetState", { storeName: "state_demo", key: "orders/o1" })).data).toBe(Buffer.from("orders").toString("base64")));
  const samples = await eventually(async () => {
    const s = await scrape();
    expect(s.get(`ottavo_pubsub_deliveries_total{pubsub="pub_subs_demo",topic="orders",outcome="SUCCESS"}`)).toBe(1);
    return s;
  });
  // The orders function read its delivery count once and saved it and the order.
  expect(samples.get(wasmRpc("GetState", "OK"))).toBe(3);
  expect(samples.get(wasmRpc("SaveState", "OK"))).toBe(2);
});
