import { describeConformance, hasConformanceSuite } from "@ottavo/conformance";
import { redisAdapters } from "@ottavo/adapter-redis";
import { startRedis, type RedisServer } from "@ottavo/test-support";

// One redis-server for the file, started by the test itself on a free loopback
// port; cases never collide in it, since every key starts with a prefix unique
// to the case and the run.
let redis: RedisServer | undefined;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});

function metadata(): Record<string, string> {
  if (redis === undefined) throw new Error("redis-server did not start (see beforeAll)");
  return { redisHost: `127.0.0.1:${redis.port}` };
}

const proven = redisAdapters.filter((factory) => hasConformanceSuite(factory.capability));

it("covers the redis state, lock, sequencer, configuration and pubsub adapters", () => {
  expect(proven.map((f) => f.capability).sort()).toEqual(["configuration", "lock", "pubsub", "sequencer", "state"]);
});

for (const factory of proven) describeConformance({ factory, metadata });
