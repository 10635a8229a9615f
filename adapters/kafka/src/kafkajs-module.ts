import type * as KafkaJs from "kafkajs";

/**
 * kafkajs, loaded on first use: a runtime with no Kafka component does not pay
 * for it at start (about a tenth of the runtime's start-up and several MB).
 */
export function kafkajs(): typeof KafkaJs {
  return require("kafkajs") as typeof KafkaJs;
}
