import { ComponentError } from "@ottavo/component-runtime";
import { MetadataError } from "@ottavo/component-runtime";
import { createServer } from "node:net";
import { inspect } from "node:util";
import { redisAdapters } from "../src";
import { redisLockAdapter } from "../src/redis-lock-store";
import { redisStateAdapter } from "../src/redis-state-store";
import { bytes, closer, context, useRedis } from "./support";

const password = "s3cret-Pa55word";
const redis = useRedis({ password });
const components = closer();
afterEach(() => components.closeAll());

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address !== null ? address.port : 0;
}

describe("redis metadata", () => {
  it("accepts a Layotto component config unmodified", async () => {
    const { port } = redis.server();
    // As in Layotto's config.json: every value a string, Layotto's names.
    const layotto = {
      redisHost: `127.0.0.1:${port}`,
      redisPassword: password,
      db: "2",
      enableTLS: "false",
      maxRetries: "3",
      maxRetryBackoff: "2000000000",
      keyPrefix: "appid",
    };
    const lock = components.track(await redisLockAdapter.create(layotto, context()));
    expect(await lock.tryLock({ resourceId: "r", lockOwner: "o", expireSeconds: 5 })).toEqual({ success: true });
    await redis.raw().select(2);
    expect(await redis.raw().get("r")).toBe("o");
    await redis.raw().select(0);
  });

  it("accepts a Dapr component config unmodified", async () => {
    const { port } = redis.server();
    // As spec.metadata of a Dapr state.redis component: names and values as Dapr documents them.
    const dapr = {
      redisHost: "127.0.0.1",
      redisPort: String(port),
      redisPassword: password,
      redisDB: "1",
      redisMaxRetries: "3",
      redisMaxRetryInterval: "512ms",
      dialTimeout: "5s",
      readTimeout: "3s",
      writeTimeout: "3s",
      enableTLS: "false",
      redisType: "node",
      ttlInSeconds: "60",
    };
    const state = components.track(await redisStateAdapter.create(dapr, context()));
    await state.set({ key: "k", value: bytes("v"), concurrency: "LAST_WRITE", consistency: "EVENTUAL", metadata: {} });
    await redis.raw().select(1);
    expect(await redis.raw().hget("k", "data")).toBe("v");
    expect(await redis.raw().ttl("k")).toBeGreaterThan(50);
    await redis.raw().select(0);
  });

  it("accepts the short aliases host, password and db", async () => {
    const { port } = redis.server();
    const state = await redisStateAdapter.create({ host: `127.0.0.1:${port}`, password, db: 0 }, context());
    components.track(state);
    await expect(state.health!()).resolves.toBeUndefined();
  });

  it("refuses a field given under two of its names", async () => {
    const error = await redisStateAdapter
      .create({ ...redis.metadata(), redisDB: "0", db: "0" }, context())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetadataError);
    expect((error as Error).message).toMatch(/'redisDB' is given more than once/);
  });

  it("lists every invalid setting at once, before connecting", async () => {
    const error = await redisStateAdapter
      .create(
        {
          redisHost: "127.0.0.1:99999",
          redisType: "cluster",
          readTimeout: "0",
          redisMaxRetryInterval: "1s",
          maxRetryBackoff: "1000000",
          ttlInSeconds: "-3",
        },
        context(),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetadataError);
    // What redis.cap declares (ranges, allowed values, exclusive fields) is checked by the
    // generated parser, all at once...
    expect((error as MetadataError).problems).toEqual([
      "metadata field 'readTimeout' must be at least 1ms, not 0",
      `metadata field 'redisType' must be one of "node", not "cluster"`,
      "metadata field 'ttlInSeconds' must be at least -1, not -3",
      "give one of metadata fields 'redisMaxRetryInterval' and 'maxRetryBackoff', not both",
    ]);
    // ...then what the adapter reads itself (the address), all at once too.
    const adapterError = await redisStateAdapter
      .create({ redisHost: "127.0.0.1:99999" }, context())
      .catch((e: unknown) => e);
    expect((adapterError as MetadataError).problems).toEqual([
      `metadata field 'redisHost' must be host:port with a port from 1 to 65535, not "127.0.0.1:99999"`,
    ]);
  });

  it("refuses a port given twice, differently", async () => {
    await expect(
      redisStateAdapter.create({ redisHost: "127.0.0.1:1234", redisPort: "4321" }, context()),
    ).rejects.toThrow(/redisHost' gives port 1234 but 'redisPort' gives 4321/);
  });

  it("fails to start with UNAVAILABLE naming host:port when nothing listens there", async () => {
    const port = await closedPort();
    const started = Date.now();
    const error = await redisStateAdapter
      .create({ redisHost: `127.0.0.1:${port}`, redisPassword: password }, context())
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((error as ComponentError).status).toBe("UNAVAILABLE");
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).not.toContain(password);
  });

  it("never shows the password in an error, also when it is wrong", async () => {
    const wrong = "Wr0ng-Secret-Value";
    const error = await redisStateAdapter
      .create({ ...redis.metadata(), redisPassword: wrong }, context())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${redis.server().port}`);
    expect(message).toMatch(/WRONGPASS|NOAUTH|auth/i);
    expect(message).not.toContain(wrong);
    expect(message).not.toContain(password);
    // Nor anywhere in the error as a log would print it, causes included (ioredis
    // attaches the failed command's arguments, AUTH's password among them).
    expect(inspect(error, { depth: 10, showHidden: true })).not.toContain(wrong);
    // A badly typed sensitive field is named, its value never shown.
    const typed = await redisStateAdapter.create({ ...redis.metadata(), redisPassword: { secret: wrong } }, context()).catch(
      (e: unknown) => e,
    );
    expect(typed).toBeInstanceOf(MetadataError);
    expect((typed as Error).message).toContain("redisPassword");
    expect((typed as Error).message).not.toContain(wrong);
  });

  it("registers one factory per capability, each declaring the password sensitive", () => {
    expect(redisAdapters.map((a) => `${a.capability}/${a.type}`).sort()).toEqual([
      "configuration/redis",
      "lock/redis",
      "nameresolution/redis",
      "pubsub/redis",
      "sequencer/redis",
      "state/redis",
    ]);
    for (const adapter of redisAdapters) {
      const field = adapter.metadata.find((f) => f.name === "redisPassword");
      expect(field?.sensitive).toBe(true);
      expect(field?.aliases).toContain("password");
    }
  });
});
