import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import type { PublishRequest, TopicMessage } from "@ottavo/generated/components/pubsub";

/** The request metadata that becomes the message key (Dapr's name), and Dapr's older one. */
export const partitionKeyName = "partitionKey";
const daprKeyName = "__key";

/**
 * The header that carries the payload's media type, as the CloudEvents Kafka
 * binding names it (structured mode: "application/cloudevents+json").
 */
export const contentTypeHeader = "content-type";

/**
 * A publish request as a Kafka message: the payload is the value, partitionKey
 * (else Dapr's __key) the key, every metadata entry a header (as Dapr writes
 * them, partitionKey included), and the content type the content-type header.
 */
export function toKafkaMessage(request: PublishRequest): Message {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(request.metadata)) {
    if (name.toLowerCase() !== contentTypeHeader) headers[name] = value;
  }
  if (request.contentType !== "") headers[contentTypeHeader] = request.contentType;
  const key = request.metadata[partitionKeyName] || request.metadata[daprKeyName] || undefined;
  return {
    value: Buffer.from(request.data.buffer, request.data.byteOffset, request.data.byteLength),
    headers,
    ...(key !== undefined ? { key } : {}),
  };
}

/** The same message for a dead-letter topic: value, key and headers as they were. */
export function copyForDeadLetter(message: KafkaMessage): Message {
  return { key: message.key, value: message.value, headers: message.headers ?? {} };
}

/** The id of a message, stable across redeliveries: where it is in the log. */
export function messageId(topic: string, partition: number, offset: string): string {
  return `${topic}-${partition}-${offset}`;
}

/**
 * A consumed message as a handler receives it. Metadata are the headers (the
 * content-type header becomes contentType instead) plus what Dapr's Kafka
 * component adds (GetEventMetadata): __key, __topic, __partition, __offset and
 * __timestamp (milliseconds since the epoch). A fresh copy each delivery, so a
 * handler that mutates it cannot change a redelivery.
 */
export function toTopicMessage(topic: string, partition: number, message: KafkaMessage, deliveryCount: number): TopicMessage {
  const metadata: Record<string, string> = {};
  if (message.key !== null && message.key !== undefined) metadata.__key = message.key.toString("utf8");
  metadata.__topic = topic;
  metadata.__partition = String(partition);
  metadata.__offset = message.offset;
  metadata.__timestamp = message.timestamp;
  let contentType = "";
  for (const [name, raw] of Object.entries(message.headers ?? {})) {
    const value = headerText(raw);
    if (value === undefined) continue;
    if (name.toLowerCase() === contentTypeHeader) contentType = value;
    else metadata[name] = value;
  }
  return {
    id: messageId(topic, partition, message.offset),
    topic,
    data: message.value === null ? new Uint8Array() : new Uint8Array(message.value),
    contentType,
    deliveryCount,
    metadata,
  };
}

/** A header's value as text; of a header given several times, the last (Dapr's map keeps the last too). */
function headerText(raw: IHeaders[string]): string | undefined {
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.toString("utf8");
}
