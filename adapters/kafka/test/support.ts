import { randomUUID } from "node:crypto";
import type { AdapterContext } from "@ottavo/component-runtime";
import type { KafkaPubsub } from "@ottavo/generated/components/adapters/kafka";
import type { DeliveryResult, TopicMessage } from "@ottavo/generated/components/pubsub";
import { startKafka, type KafkaBroker, type KafkaBrokerOptions } from "@ottavo/test-support";
import { Kafka, logLevel } from "kafkajs";
import { kafkaPubsubAdapter } from "../src/kafka-pubsub";

/**
 * A Kafka broker of this test file's own (single-node KRaft, from
 * test-support), started before its tests and stopped after them.
 */
export function useKafka(options: KafkaBrokerOptions = {}): {
  broker(): KafkaBroker;
  /** Metadata for the adapter: this broker, and group timings short enough for tests. */
  metadata(extra?: Record<string, unknown>): Record<string, unknown>;
  /** A plain kafkajs client, to look at what the adapter wrote. */
  raw(): Kafka;
} {
  let broker: KafkaBroker | undefined;
  beforeAll(async () => {
    broker = await startKafka(options);
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  });
  return {
    broker: () => broker!,
    metadata: (extra = {}) => ({
      brokers: broker!.brokers.join(","),
      // Rebalances wait for heartbeats: fast ones make group joins take milliseconds.
      sessionTimeout: "6s",
      heartbeatInterval: "100ms",
      redeliveryBackoff: "50ms",
      maxRedeliveryBackoff: "200ms",
      ...extra,
    }),
    raw: () => new Kafka({ brokers: [...broker!.brokers], logLevel: logLevel.NOTHING }),
  };
}

/** The context the kernel passes. */
export function context(): AdapterContext {
  return { componentName: "kafka_test", appId: "app1", configDir: "/tmp", settings: {} };
}

/** Components opened by a test, closed after it so no client outlives it. */
export function closer(): { open(metadata: Record<string, unknown>): Promise<KafkaPubsub>; closeAll(): Promise<void> } {
  const opened: KafkaPubsub[] = [];
  return {
    async open(metadata) {
      const component = await kafkaPubsubAdapter.create(metadata, context());
      opened.push(component);
      return component;
    },
    async closeAll() {
      await Promise.all(opened.splice(0).map((c) => c.close()));
    },
  };
}

/** A name no other test uses, for topics and groups. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A handler that records every delivery and answers with decide (SUCCESS by default). */
export function recorder(decide: (message: TopicMessage) => DeliveryResult | Promise<DeliveryResult> = () => "SUCCESS") {
  const deliveries: TopicMessage[] = [];
  return {
    deliveries,
    texts: () => deliveries.map((m) => text(m.data)),
    handler: async (message: TopicMessage): Promise<DeliveryResult> => {
      deliveries.push(message);
      return decide(message);
    },
  };
}

export { eventually } from "@ottavo/test-support";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);
