/**
 * Pub/sub end to end on Redis Streams (the "redis" pubsub adapter): the same
 * delivery as in memory, and, Redis keeping what is not acknowledged, delivery
 * across a runtime restart. Needs redis-server (make test-services installs it).
 */
import { redisAdapters } from "@ottavo/adapter-redis";
import { startRedis, type RedisServer } from "@ottavo/test-support";
import { describeDelivery } from "./delivery-suite";

jest.setTimeout(60_000);

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

if (!redisAdapters.some((adapter) => adapter.capability === "pubsub" && adapter.type === "redis")) {
  throw new Error("@ottavo/adapter-redis has no 'redis' pubsub adapter");
}

describeDelivery({
  type: "redis",
  metadata: () => ({ redisHost: `127.0.0.1:${redis.port}`, redeliveryBackoff: "50ms", maxRedeliveryBackoff: "200ms" }),
  durable: true,
});
