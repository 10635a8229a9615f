/**
 * Lock and sequencer components on etcd, configured as Layotto's config.json
 * configures them (metadata endpoints, keyPrefixPath), called with the published
 * Layotto Node.js SDK through two runtimes sharing one etcd.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Client } from "layotto";
import { startEtcd, startRuntime, type EtcdServer, type RunningRuntime, layottoConfigJson } from "@ottavo/test-support";

let etcd: EtcdServer;
let runtimes: RunningRuntime[] = [];
let clients: Client[] = [];

function layottoConfig(endpoint: string): string {
  const component = { type: "etcd", metadata: { endpoints: endpoint, keyPrefixPath: "/e2e/", dialTimeout: "5" } };
  const grpcConfig = { app: { app_id: "etcd-e2e" }, lock: { lock_demo: component }, sequencer: { sequencer_demo: component } };
  return layottoConfigJson(grpcConfig);
}

beforeAll(async () => {
  etcd = await startEtcd();
  runtimes = await Promise.all([0, 1].map(() => startRuntime({ config: layottoConfig(etcd.endpoint) })));
  clients = runtimes.map((r) => new Client(String(r.apiPort), "127.0.0.1"));
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  for (const runtime of runtimes) expect(await runtime.stop()).toBe(0);
  await etcd?.remove();
});

it("a lock taken through one runtime excludes the other runtime's caller until unlocked", async () => {
  const [a, b] = clients as [Client, Client];
  const resourceId = "e2e-order-1";
  expect(await a.lock.tryLock({ storeName: "lock_demo", resourceId, lockOwner: "owner-a", expire: 10 })).toBe(true);
  expect(await b.lock.tryLock({ storeName: "lock_demo", resourceId, lockOwner: "owner-b", expire: 10 })).toBe(false);
  expect(await a.lock.unLock({ storeName: "lock_demo", resourceId, lockOwner: "owner-a" })).toEqual({ status: 0 });
  expect(await b.lock.tryLock({ storeName: "lock_demo", resourceId, lockOwner: "owner-b", expire: 10 })).toBe(true);
});

it("ids from both runtimes are distinct and increasing, STRONG", async () => {
  const ids: bigint[] = [];
  for (let i = 0; i < 10; i++) {
    const client = clients[i % 2]!;
    ids.push(BigInt(await client.sequencer.getNextId({ storeName: "sequencer_demo", key: "orders", options: { increment: 1 } })));
  }
  expect(ids).toEqual(ids.map((_, i) => BigInt(i + 1)));
});

describe("configs/etcd.yaml, its ports moved to this test's etcd and free ones", () => {
  let runtime: RunningRuntime | undefined;
  let client: Client | undefined;
  afterAll(async () => {
    client?.close();
    if (runtime !== undefined) expect(await runtime.stop()).toBe(0);
  });

  it("serves locks, ids and configuration from etcd, at the keys its comments name", async () => {
    const example = readFileSync(path.join(__dirname, "..", "..", "..", "configs", "etcd.yaml"), "utf8");
    const config = example
      .replaceAll("127.0.0.1:2379", etcd.endpoint)
      .replace("127.0.0.1:34904", "127.0.0.1:0")
      .replace("127.0.0.1:34999", "127.0.0.1:0");
    runtime = await startRuntime({ config, format: "yaml" });
    client = new Client(String(runtime.apiPort), "127.0.0.1");
    expect(await client.lock.tryLock({ storeName: "lock_demo", resourceId: "r1", lockOwner: "o1", expire: 10 })).toBe(true);
    expect(await client.sequencer.getNextId({ storeName: "sequencer_demo", key: "k1" })).toBe("1");
    await client.configuration.save({ storeName: "config_demo", appId: "quickstart", items: [{ key: "timeout", content: "5s" }] });
    const range = async (key: string) =>
      fetch(`http://${etcd.endpoint}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: Buffer.from(key).toString("base64") }) })
        .then((r) => r.json() as Promise<{ kvs?: { value: string }[] }>)
        .then((body) => (body.kvs ?? []).map((kv) => Buffer.from(kv.value, "base64").toString("utf8")));
    expect(await range("/layotto/lock|||quickstart||r1")).toEqual(["o1"]);
    expect(await range("/layotto/sequencer|||quickstart||k1")).toEqual(["1"]);
    expect(await range("/quickstart/default/default/timeout")).toEqual([JSON.stringify({ content: "5s", tags: {}, metadata: {} })]);
  });
});
