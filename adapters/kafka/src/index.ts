import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { kafkaPubsubAdapter } from "./kafka-pubsub";

/** Every adapter of this package, for the kernel's registry. */
export const kafkaAdapters: readonly CapabilityAdapterFactory[] = [kafkaPubsubAdapter];

export { kafkaPubsubAdapter, KafkaPubsub } from "./kafka-pubsub";
export { readSettings, type KafkaSettings } from "./kafka-settings";
export { topicAssigner, topicAssignerName } from "./topic-assigner";
