import { copyFileSync } from "node:fs";
import * as path from "node:path";
import { buildAssemblyScriptGuest, buildGoGuest, eventually } from "@ottavo/test-support";
import { buildTimeoutMs, guestSources, loadFunction, startTestRuntime, type TestRuntime } from "./wasm-support";

/**
 * Life cycle at run time: a watched function's file replaced under a steady stream of
 * calls reloads with no failed call (in-flight calls finish on the old module), and
 * Ottavo's actuator endpoints install, list and remove functions.
 */
let rt: TestRuntime;
let goStock: string;
let asStock: string;
let watched: string;

beforeAll(async () => {
  [goStock, asStock] = await Promise.all([
    buildGoGuest(guestSources.goStock.moduleDir, guestSources.goStock.pkg),
    buildAssemblyScriptGuest(guestSources.asStock),
  ]);
  rt = await startTestRuntime("  functions: {}");
  watched = path.join(rt.dir, "stock.wasm");
  copyFileSync(goStock, watched);
  await rt.client.saveState({ storeName: "state_demo", states: [{ key: "book1", value: new TextEncoder().encode("100") }] });
}, buildTimeoutMs);

afterAll(async () => {
  await rt?.stop();
});

it("PUT /actuator/functions/<name> installs a watched function; replacing its file under load fails no call", async () => {
  const put = await fetch(`${rt.actuatorUrl}/actuator/functions/stock`, { method: "PUT", body: JSON.stringify({ path: watched, instances: 2, watch: true }) });
  expect(put.status).toBe(200);
  const load = loadFunction(`${rt.functionsUrl}/stock?name=book1`, "There are 100 inventories for book1.");
  await eventually(() => expect(load.answered()).toBeGreaterThan(20));
  copyFileSync(asStock, watched);
  await eventually(() => expect(rt.log.lines).toContain("ottavo: function 'stock' updated (id 'stock')"), 20_000);
  const afterReload = load.answered();
  await eventually(() => expect(load.answered()).toBeGreaterThan(afterReload + 20));
  expect(await load.stop()).toEqual([]);
});

it("GET lists it, DELETE removes it", async () => {
  const listed = (await (await fetch(`${rt.actuatorUrl}/actuator/functions`)).json()) as { functions: { name: string; state: string; instances: number }[] };
  expect(listed.functions.map((f) => [f.name, f.state, f.instances])).toEqual([["stock", "UP", 2]]);
  expect((await fetch(`${rt.actuatorUrl}/actuator/functions/stock`, { method: "DELETE" })).status).toBe(200);
  expect((await fetch(`${rt.functionsUrl}/stock?name=book1`)).status).toBe(404);
});

it("a function reaches only the components its config grants", async () => {
  const put = await fetch(`${rt.actuatorUrl}/actuator/functions/locked-out`, { method: "PUT", body: JSON.stringify({ path: goStock, components: ["lock_demo"] }) });
  expect(put.status).toBe(200);
  const denied = await fetch(`${rt.functionsUrl}/locked-out?name=book1`);
  expect(denied.status).toBe(412);
  expect(await denied.text()).toBe("state store is not configured");
  const granted = await fetch(`${rt.actuatorUrl}/actuator/functions/locked-out`, { method: "PUT", body: JSON.stringify({ path: goStock, components: ["state_demo"] }) });
  expect(granted.status).toBe(200);
  expect(await (await fetch(`${rt.functionsUrl}/locked-out?name=book1`)).text()).toBe("There are 100 inventories for book1.");
});
