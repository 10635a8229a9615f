import { describeConformance, hasConformanceSuite } from "@ottavo/conformance";
import { etcdAdapters } from "@ottavo/adapter-etcd";
import { makeTestCertificates, startEtcd, type EtcdServer, type TestCertificates } from "@ottavo/test-support";

// The etcd adapters over TLS with client-certificate authentication: etcd is
// started with --cert-file, --key-file, --trusted-ca-file and --client-cert-auth,
// on a CA and certificates made by the test, and the components connect with
// Layotto's tlsCa, tlsCert and tlsCertKey. (Wrong CA, no client certificate and
// bad settings: adapters/etcd/test/etcd-tls.test.ts.)
let etcd: EtcdServer | undefined;
let certs: TestCertificates | undefined;
beforeAll(async () => {
  certs = makeTestCertificates();
  etcd = await startEtcd({ tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca } });
}, 30_000);
afterAll(async () => {
  await etcd?.remove();
  certs?.remove();
});

function metadata(): Record<string, string> {
  if (etcd === undefined || certs === undefined) throw new Error("etcd did not start (see beforeAll)");
  return { endpoints: etcd.endpoint, tlsCa: certs.ca, tlsCert: certs.clientCert, tlsCertKey: certs.clientKey };
}

const proven = etcdAdapters.filter((factory) => hasConformanceSuite(factory.capability));

it("covers the etcd configuration, lock and sequencer adapters over TLS", () => {
  expect(proven.map((f) => f.capability).sort()).toEqual(["configuration", "lock", "sequencer"]);
});

for (const factory of proven) describeConformance({ factory, metadata });
