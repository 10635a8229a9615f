export { createOttavoClient, type ClientOptions } from "./create-client.js";
export { resolveEndpoint, defaultEndpoint } from "./support/endpoint.js";
export * from "./support/errors.js";
export { Lease } from "./support/lease.js";
export { readAll, type ByteSource, type Subscription } from "./support/streams.js";
export type { TopicMessage, TopicSubscription } from "./support/topic-subscription.js";
export type { Bytes } from "./support/bytes.js";
export type { CallSettings } from "./support/call.js";
export * from "./gen/index.js";
