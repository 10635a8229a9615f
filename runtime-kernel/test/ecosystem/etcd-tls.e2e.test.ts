/**
 * etcd over TLS as an operator configures it: Layotto's config.json with
 * tlsCa / tlsCert / tlsCertKey as paths relative to the config file (the lock
 * and sequencer metadata, and the config_store form with `address`), a runtime
 * process, the published Layotto Node.js SDK, and an etcd started with
 * --client-cert-auth on a CA the test makes. A runtime given the wrong CA starts,
 * reports readiness DOWN, and answers UNAVAILABLE naming the certificate problem.
 */
import { readFileSync } from "node:fs";
import { Client } from "layotto";
import { makeTestCertificates, startEtcd, startRuntime, type EtcdServer, type RunningRuntime, type TestCertificates, layottoConfigJson } from "@ottavo/test-support";

let certs: TestCertificates;
let strangers: TestCertificates;
let etcd: EtcdServer;
const runtimes: RunningRuntime[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  certs = makeTestCertificates();
  strangers = makeTestCertificates();
  etcd = await startEtcd({ tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca } });
}, 30_000);

afterAll(async () => {
  for (const client of clients) client.close();
  for (const runtime of runtimes) expect(await runtime.stop()).toBe(0);
  await etcd?.remove();
  certs?.remove();
  strangers?.remove();
});

function layottoConfig(): string {
  const tls = { tlsCa: "certs/ca.pem", tlsCert: "certs/client.pem", tlsCertKey: "certs/client-key.pem" };
  const component = { type: "etcd", metadata: { endpoints: etcd.endpoint, keyPrefixPath: "/tls-e2e/", ...tls } };
  const grpcConfig = {
    app: { app_id: "etcd-tls" },
    lock: { lock_demo: component },
    sequencer: { sequencer_demo: component },
    config_store: { config_demo: { type: "etcd", address: [etcd.endpoint], timeout: "5", metadata: tls } },
  };
  return layottoConfigJson(grpcConfig);
}

/** A runtime whose certs/ folder (beside its config) holds `ca` as ca.pem and the test's client certificate. */
async function start(ca: string): Promise<{ runtime: RunningRuntime; client: Client }> {
  const runtime = await startRuntime({
    config: layottoConfig(),
    files: {
      "certs/ca.pem": readFileSync(ca),
      "certs/client.pem": readFileSync(certs.clientCert),
      "certs/client-key.pem": readFileSync(certs.clientKey),
    },
  });
  runtimes.push(runtime);
  const client = new Client(String(runtime.apiPort), "127.0.0.1");
  clients.push(client);
  return { runtime, client };
}

const readiness = (runtime: RunningRuntime) => fetch(`${runtime.actuatorUrl}/actuator/health/readiness`).then((r) => r.status);

it("lock, sequencer and configuration work over mutual TLS, with the certificate paths relative to the config", async () => {
  const { runtime, client } = await start(certs.ca);
  expect(await client.lock.tryLock({ storeName: "lock_demo", resourceId: "r1", lockOwner: "o1", expire: 10 })).toBe(true);
  expect(await client.sequencer.getNextId({ storeName: "sequencer_demo", key: "k1" })).toBe("1");
  await client.configuration.save({ storeName: "config_demo", appId: "etcd-tls", items: [{ key: "timeout", content: "5s" }] });
  const items = await client.configuration.get({ storeName: "config_demo", appId: "etcd-tls", keys: ["timeout"] });
  expect(items.map((i: { content: string }) => i.content)).toEqual(["5s"]);
  expect(await readiness(runtime)).toBe(200);
});

it("with a CA that did not sign etcd's certificate: readiness DOWN, and calls fail with UNAVAILABLE naming the certificate problem", async () => {
  const { runtime, client } = await start(strangers.ca);
  const failure = await client.lock.tryLock({ storeName: "lock_demo", resourceId: "r2", lockOwner: "o1", expire: 10 }).then(
    (answer: unknown) => `answered ${String(answer)}`,
    (error: { code?: number; details?: string }) => `${error.code}: ${error.details}`,
  );
  expect(failure).toMatch(/^14: .*certificate.*\(TLS: check the component's tlsCa, tlsCert and tlsCertKey\)/s);
  expect(await readiness(runtime)).not.toBe(200);
});
