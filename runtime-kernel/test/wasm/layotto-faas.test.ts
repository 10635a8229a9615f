import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { buildGoGuest, startRedis, type RedisServer } from "@ottavo/test-support";
import { formatListenAddress } from "../../src/config/listen-address";
import { Runtime } from "../../src/runtime";
import { buildTimeoutMs } from "./wasm-support";

const run = promisify(execFile);

/**
 * Layotto's FaaS quickstart, as its docs run it, on Ottavo: Layotto's config.json
 * shape (a listener with the `Layotto` stream filter naming two functions), the two
 * functions rebuilt here from our own Go source on the proxy-wasm ABI, state in Redis
 * written with redis-cli, and `curl -H 'id:id_1' '<host>:<port>?name=book1'`.
 */
let redis: RedisServer;
let runtime: Runtime;
let functionsUrl: string;
let actuatorUrl: string;

beforeAll(async () => {
  const [function1, function2] = await Promise.all([
    buildGoGuest("examples/faas/layotto", "./function_1"),
    buildGoGuest("examples/faas/layotto", "./function_2"),
  ]);
  redis = await startRedis();
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-faas-"));
  const file = path.join(dir, "config.json");
  writeFileSync(file, JSON.stringify(layottoFaasConfig(redis.port, function1, function2), null, 2));
  runtime = await Runtime.start({ configFile: file, shutdownTimeoutMs: 2_000, log: { info: () => {}, warn: () => {}, error: () => {} } });
  functionsUrl = `http://${formatListenAddress(runtime.functionAddress!)}`;
  actuatorUrl = `http://${formatListenAddress(runtime.actuatorAddress)}`;
}, buildTimeoutMs);

afterAll(async () => {
  await runtime?.shutdown();
  await redis?.stop();
});

/** Layotto's demo/faas/config.json, with free ports and our functions' paths. */
function layottoFaasConfig(redisPort: number, function1: string, function2: string) {
  return {
    servers: [
      {
        default_log_path: "stdout",
        listeners: [
          {
            name: "grpc",
            address: "127.0.0.1:0",
            bind_port: true,
            filter_chains: [
              {
                filters: [
                  {
                    type: "grpc",
                    config: {
                      server_name: "runtime",
                      grpc_config: {
                        state: { redis: { type: "redis", metadata: { redisHost: `127.0.0.1:${redisPort}`, redisPassword: "" } } },
                      },
                    },
                  },
                ],
              },
            ],
          },
          {
            name: "wasm",
            address: "127.0.0.1:0",
            bind_port: true,
            filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: "Http1", upstream_protocol: "Http1", router_config_name: "function_router" } }] }],
            stream_filters: [
              {
                type: "Layotto",
                config: {
                  function1: { name: "function1", instance_num: 1, vm_config: { engine: "wasmer", path: function1 } },
                  function2: { name: "function2", instance_num: 1, vm_config: { engine: "wasmer", path: function2 } },
                },
              },
            ],
          },
          { name: "actuator", address: "127.0.0.1:0", bind_port: true, filter_chains: [{ filters: [{ type: "proxy", config: {} }] }] },
        ],
      },
    ],
  };
}

it("answers `curl -H 'id:id_1' '...?name=book1'` with the stock redis-cli set", async () => {
  await run("redis-cli", ["-p", String(redis.port), "set", "book1", "100"]);
  const { stdout } = await run("curl", ["-s", "-H", "id:id_1", `${functionsUrl}?name=book1`]);
  expect(stdout).toBe("There are 100 inventories for book1.");
});

it("routes by the id each function reports through proxy_get_id, not by its config name", async () => {
  const byId2 = await fetch(functionsUrl, { method: "POST", headers: { id: "id_2" }, body: "book1" });
  expect(await byId2.text()).toBe("100");
  const listed = (await (await fetch(`${actuatorUrl}/actuator/functions`)).json()) as { functions: { name: string; id: string; abi: string; state: string }[] };
  expect(listed.functions.map((f) => [f.name, f.id, f.abi, f.state])).toEqual([
    ["function1", "id_1", "proxy-wasm", "UP"],
    ["function2", "id_2", "proxy-wasm", "UP"],
  ]);
});

it("a Layotto function is an InvokeService target under its id", async () => {
  const answer = await runtime.invocationTargets.get("id_2")!.invoke({
    id: "id_2",
    method: "",
    verb: "POST",
    query: "",
    contentType: "text/plain",
    data: new TextEncoder().encode("book1"),
    headers: [],
    signal: new AbortController().signal,
    hops: 0,
  });
  expect(new TextDecoder().decode(answer.data)).toBe("100");
});

it("Layotto's /wasm/uninstall and /wasm/install change the functions at run time", async () => {
  const list = async () => ((await (await fetch(`${actuatorUrl}/actuator/functions`)).json()) as { functions: { name: string; path: string }[] }).functions;
  const [, function2] = await list();
  const uninstall = await fetch(`${actuatorUrl}/wasm/uninstall`, { method: "POST", body: JSON.stringify({ name: "function2" }) });
  expect(uninstall.status).toBe(200);
  expect((await fetch(functionsUrl, { method: "POST", headers: { id: "id_2" }, body: "book1" })).status).toBe(404);
  const install = await fetch(`${actuatorUrl}/wasm/install`, {
    method: "POST",
    body: JSON.stringify({ name: "function2", instance_num: 2, vm_config: { engine: "wasmer", path: function2.path } }),
  });
  expect(install.status).toBe(200);
  expect(await (await fetch(functionsUrl, { method: "POST", headers: { id: "id_2" }, body: "book1" })).text()).toBe("100");
});
