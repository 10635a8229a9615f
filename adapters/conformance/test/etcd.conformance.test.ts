import { describeConformance, hasConformanceSuite } from "@ottavo/conformance";
import { etcdAdapters } from "@ottavo/adapter-etcd";
import { startEtcd, type EtcdServer } from "@ottavo/test-support";

// One etcd for the file, started by the test itself on free loopback ports;
// cases never collide in it, since every key starts with a prefix unique to the
// case and the run.
let etcd: EtcdServer | undefined;
beforeAll(async () => {
  etcd = await startEtcd();
}, 30_000);
afterAll(async () => {
  await etcd?.remove();
});

function metadata(): Record<string, string> {
  if (etcd === undefined) throw new Error("etcd did not start (see beforeAll)");
  return { endpoints: etcd.endpoint };
}

const proven = etcdAdapters.filter((factory) => hasConformanceSuite(factory.capability));

it("covers the etcd configuration, lock and sequencer adapters", () => {
  expect(proven.map((f) => f.capability).sort()).toEqual(["configuration", "lock", "sequencer"]);
});

for (const factory of proven) describeConformance({ factory, metadata });
