/**
 * Pub/sub end to end on Apache Kafka (the "kafka" pubsub adapter, kafkajs) against
 * a real single-node broker (startKafka): the same delivery as in memory, and,
 * offsets being committed only after SUCCESS or DROP, delivery across a runtime
 * restart. The broker's jars come from Maven Central on the first run.
 */
import { startKafka, type KafkaBroker } from "@ottavo/test-support";
import { describeDelivery } from "./delivery-suite";

jest.setTimeout(120_000);

let kafka: KafkaBroker;
beforeAll(async () => {
  kafka = await startKafka();
}, 180_000);
afterAll(async () => {
  await kafka?.stop();
});

describeDelivery({
  type: "kafka",
  metadata: () => ({
    brokers: kafka.brokers.join(","),
    // Topics are new per run: read them from the start, whenever the group joins.
    initialOffset: "oldest",
    redeliveryBackoff: "50ms",
    maxRedeliveryBackoff: "200ms",
    sessionTimeout: "6s",
    heartbeatInterval: "1s",
  }),
  durable: true,
  waitMs: 30_000,
});
