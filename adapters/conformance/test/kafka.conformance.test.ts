import { describeConformance, hasConformanceSuite } from "@ottavo/conformance";
import { kafkaAdapters } from "@ottavo/adapter-kafka";
import { startKafka, type KafkaBroker } from "@ottavo/test-support";

// One single-node Kafka broker for the file (KRaft, on free loopback ports); cases
// never collide in it, since every topic and group starts with a prefix unique to
// the case and the run.
let kafka: KafkaBroker | undefined;
beforeAll(async () => {
  kafka = await startKafka();
}, 120_000);
afterAll(async () => {
  await kafka?.stop();
});

function metadata(): Record<string, string> {
  if (kafka === undefined) throw new Error("the Kafka broker did not start (see beforeAll)");
  return {
    brokers: kafka.brokers.join(","),
    // Group joins and rebalances wait for heartbeats: fast ones keep each case in the hundreds of milliseconds.
    heartbeatInterval: "100ms",
    sessionTimeout: "6s",
  };
}

const proven = kafkaAdapters.filter((factory) => hasConformanceSuite(factory.capability));

it("covers the kafka pubsub adapter", () => {
  expect(proven.map((f) => `${f.capability}/${f.type}`)).toEqual(["pubsub/kafka"]);
});

for (const factory of proven) describeConformance({ factory, metadata });
