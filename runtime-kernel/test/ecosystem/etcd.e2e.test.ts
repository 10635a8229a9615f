/**
 * Lock and sequencer components on etcd, configured as Layotto's config.json
 * configures them (metadata endpoints, keyPrefixPath), called with the published
 * Layotto Node.js SDK through two runtimes sharing one etcd.
 */
import { Client } from "layotto";
import { startEtcd, startRuntime, type EtcdServer, type RunningRuntime } from "@ottavo/test-support";

let etcd: EtcdServer;
let runtimes: RunningRuntime[] = [];
let clients: Client[] = [];

function layottoConfig(endpoint: string): string {
  const component = { type: "etcd", metadata: { endpoints: endpoint, keyPrefixPath: "/e2e/", dialTimeout: "5" } };
  const grpcConfig = { app: { app_id: "etcd-e2e" }, lock: { lock_demo: component }, sequencer: { sequencer_demo: component } };
  return JSON.stringify({
    servers: [
      {
        listeners: [
          {
            name: "grpc",
            address: "127.0.0.1:0",
            filter_chains: [{ filters: [{ type: "grpc", config: { server_name: "runtime", grpc_config: grpcConfig } }] }],
          },
          { name: "actuator", address: "127.0.0.1:0" },
        ],
      },
    ],
  });
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
