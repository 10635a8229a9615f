import type { RedisNameresolution } from "@ottavo/generated/components/adapters/redis";
import { ResolverUnavailableError } from "@ottavo/generated/components/nameresolution";
import { redisNameresolutionAdapter } from "../src/redis-name-resolver";
import { closer, context, eventually, useRedis } from "./support";

const redis = useRedis();
const components = closer();
afterEach(() => components.closeAll());

async function resolver(extra: Record<string, unknown> = {}): Promise<RedisNameresolution> {
  return components.track(await redisNameresolutionAdapter.create(redis.metadata({ cacheTtl: "0", ...extra }), context()));
}

const key = "ottavo|nameresolution|b";

describe("redis name resolution", () => {
  it("finds what runtimes registered, per app id, and forgets an entry at unregister", async () => {
    const [one, two, reader] = [await resolver(), await resolver(), await resolver()];
    await one.register({ appId: "b", address: "127.0.0.1:4001" });
    await two.register({ appId: "b", address: "127.0.0.1:4002" });
    await two.register({ appId: "c", address: "127.0.0.1:4003" });
    expect((await reader.resolve({ appId: "b" })).sort()).toEqual(["127.0.0.1:4001", "127.0.0.1:4002"]);
    expect(await reader.resolve({ appId: "c" })).toEqual(["127.0.0.1:4003"]);
    expect(await reader.resolve({ appId: "nobody" })).toEqual([]);
    await one.unregister({ appId: "b", address: "127.0.0.1:4001" });
    expect(await reader.resolve({ appId: "b" })).toEqual(["127.0.0.1:4002"]);
  });

  it("keeps an entry alive with heartbeats, and drops it once they stop (a runtime that died)", async () => {
    const alive = await resolver({ ttl: "300ms" });
    const reader = await resolver();
    await alive.register({ appId: "b", address: "127.0.0.1:4001" });
    // Past several ttls the heartbeats still hold it: the set's score keeps moving.
    const first = Number(await redis.raw().zscore(key, "127.0.0.1:4001"));
    await eventually(async () => expect(Number(await redis.raw().zscore(key, "127.0.0.1:4001"))).toBeGreaterThan(first + 300));
    expect(await reader.resolve({ appId: "b" })).toEqual(["127.0.0.1:4001"]);
    // close() stops the heartbeats without unregistering, as a killed runtime would.
    await alive.close();
    await eventually(async () => expect(await reader.resolve({ appId: "b" })).toEqual([]));
    // The key itself expires too: nothing is left behind in Redis.
    await eventually(async () => expect(await redis.raw().exists(key)).toBe(0));
  });

  it("reuses an answer for cacheTtl", async () => {
    const writer = await resolver();
    const cached = await resolver({ cacheTtl: "1h" });
    await writer.register({ appId: "b", address: "127.0.0.1:4001" });
    expect(await cached.resolve({ appId: "b" })).toEqual(["127.0.0.1:4001"]);
    await writer.unregister({ appId: "b", address: "127.0.0.1:4001" });
    expect(await cached.resolve({ appId: "b" })).toEqual(["127.0.0.1:4001"]);
  });

  it("refuses a ttl below 1ms (the spec's bound)", async () => {
    await expect(redisNameresolutionAdapter.create(redis.metadata({ ttl: "0" }), context())).rejects.toThrow(
      "metadata field 'ttl' must be at least 1ms, not 0",
    );
  });

  it("answers ResolverUnavailable, the capability's declared error, while Redis cannot be reached", async () => {
    const fast = await resolver({ readTimeout: "500ms", dialTimeout: "500ms", redisMaxRetryInterval: "200ms" });
    await fast.register({ appId: "b", address: "127.0.0.1:4001" });
    await redis.server().stop();
    try {
      const endpoint = `127.0.0.1:${redis.server().port}`;
      for (const call of [
        () => fast.resolve({ appId: "b" }),
        () => fast.register({ appId: "c", address: "127.0.0.1:4002" }),
        () => fast.unregister({ appId: "b", address: "127.0.0.1:4001" }),
      ]) {
        const error = await call().then(
          () => new Error("the call succeeded while Redis was down"),
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ResolverUnavailableError);
        expect(error).toMatchObject({ status: "UNAVAILABLE", capability: "nameresolution", errorName: "ResolverUnavailable" });
        expect((error as Error).message).toContain(endpoint);
      }
    } finally {
      await redis.server().restart();
    }
    // Back once Redis is: the same component resolves again without being re-created.
    await eventually(async () => expect(await fast.resolve({ appId: "nobody" })).toEqual([]));
  });
});
