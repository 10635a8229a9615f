import { create } from "@bufbuild/protobuf";
import { ComponentError } from "@ottavo/component-runtime";
import type { Change } from "@ottavo/generated/components/configuration";
import { ConfigurationItemSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { redisConfigurationAdapter } from "../src/redis-configuration-store";
import { redisLockAdapter } from "../src/redis-lock-store";
import { redisSequencerAdapter } from "../src/redis-sequencer";
import { redisStateAdapter } from "../src/redis-state-store";
import { bytes, closer, context, eventually, text, useRedis } from "./support";

const password = "fault-test-Secret";
const redis = useRedis({ password });
const components = closer();
afterEach(() => components.closeAll());

/** Short timeouts and a quick reconnect, so the test sees both within seconds. */
const fast = { readTimeout: "500ms", dialTimeout: "500ms", redisMaxRetryInterval: "200ms" };
const readTimeoutMs = 500;

const setReq = (key: string, value: string) => ({
  key,
  value: bytes(value),
  concurrency: "LAST_WRITE" as const,
  consistency: "EVENTUAL" as const,
  metadata: {},
});

/** Awaits a call expected to fail, answering its error and how long it took. */
async function failure(call: () => Promise<unknown>): Promise<{ error: ComponentError; ms: number }> {
  const started = Date.now();
  const error = await call().then(
    () => {
      throw new Error("the call succeeded while Redis was unavailable");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ComponentError);
  return { error: error as ComponentError, ms: Date.now() - started };
}

describe("redis faults", () => {
  it("fails calls with UNAVAILABLE within the timeout while Redis is down, and recovers without re-creating", async () => {
    const metadata = redis.metadata(fast);
    const state = components.track(await redisStateAdapter.create(metadata, context()));
    const lock = components.track(await redisLockAdapter.create(metadata, context()));
    const sequencer = components.track(await redisSequencerAdapter.create(metadata, context()));
    const configuration = components.track(await redisConfigurationAdapter.create(metadata, context()));
    // Never subscribed before the outage: its first subscriber connection fails then.
    const lateConfiguration = components.track(await redisConfigurationAdapter.create(metadata, context()));
    const changes: Change[] = [];
    await configuration.subscribe({ appId: "app1", group: "", label: "", keys: [], metadata: {} }, async (change) => {
      changes.push(change);
    });
    await state.set(setReq("k", "before"));

    await redis.server().stop();

    const endpoint = `127.0.0.1:${redis.server().port}`;
    const calls: Array<() => Promise<unknown>> = [
      () => state.get({ key: "k", consistency: "EVENTUAL", metadata: {} }),
      () => state.set(setReq("k", "during")),
      () => state.bulkGet({ keys: ["k", "j"], metadata: {} }),
      () => state.transact({ operations: [{ set: setReq("k", "during") }], metadata: {} }),
      () => lock.tryLock({ resourceId: "r", lockOwner: "o", expireSeconds: 5 }),
      () => lock.unlock({ resourceId: "r", lockOwner: "o" }),
      () => sequencer.nextId({ key: "s", metadata: {} }),
      () => sequencer.reserveSegment({ key: "s", size: 10 }),
      () => configuration.get({ appId: "app1", group: "", label: "", keys: [], metadata: {} }),
      () => state.health!(),
      () => lock.health!(),
      () => sequencer.health!(),
      () => configuration.health!(),
    ];
    for (const call of calls) {
      const { error, ms } = await failure(call);
      expect(error.status).toBe("UNAVAILABLE");
      expect(error.message).toContain(endpoint);
      expect(error.message).not.toContain(password);
      // Within the configured timeout, with room for a slow machine.
      expect(ms).toBeLessThan(readTimeoutMs + 1_000);
    }
    // A subscription cannot be made while Redis is down either.
    const refused = await failure(() =>
      configuration.subscribe({ appId: "app1", group: "g", label: "", keys: [], metadata: {} }, async () => {}),
    );
    expect(refused.error.status).toBe("UNAVAILABLE");
    const refusedFirst = await failure(() =>
      lateConfiguration.subscribe({ appId: "app1", group: "", label: "", keys: [], metadata: {} }, async () => {}),
    );
    expect(refusedFirst.error.status).toBe("UNAVAILABLE");

    await redis.server().restart();

    // The same components reconnect by themselves (Redis lost its data: no persistence).
    await eventually(() => state.health!().then(() => true, () => false), 5_000);
    await eventually(() => configuration.health!().then(() => true, () => false), 5_000);
    await state.set(setReq("k", "after"));
    expect(text((await state.get({ key: "k", consistency: "EVENTUAL", metadata: {} })).data)).toBe("after");
    expect(await lock.tryLock({ resourceId: "r", lockOwner: "o", expireSeconds: 5 })).toEqual({ success: true });
    expect(await sequencer.nextId({ key: "s", metadata: {} })).toBe(1n);
    // The subscription made before the outage is renewed with the connection.
    await eventually(async () => {
      await configuration.save({ appId: "app1", items: [create(ConfigurationItemSchema, { key: "x", content: "1" })], metadata: {} });
      return changes.length > 0;
    }, 5_000);
    expect(changes[0].items[0].key).toBe("x");
    // A subscription refused during the outage can be made now, and hears changes.
    const late: Change[] = [];
    await lateConfiguration.subscribe({ appId: "app1", group: "", label: "", keys: ["y"], metadata: {} }, async (change) => {
      late.push(change);
    });
    await configuration.save({ appId: "app1", items: [create(ConfigurationItemSchema, { key: "y", content: "2" })], metadata: {} });
    await eventually(() => late.length === 1);
    expect(late[0].items.map((i) => [i.key, i.content])).toEqual([["y", "2"]]);
  });

  it("fails a call with UNAVAILABLE when Redis does not answer within readTimeout", async () => {
    const state = components.track(await redisStateAdapter.create(redis.metadata(fast), context()));
    await state.set(setReq("k", "v"));
    // CLIENT PAUSE holds every other client's commands: Redis is up but silent.
    await redis.raw().call("CLIENT", "PAUSE", "1500", "ALL");
    const { error, ms } = await failure(() => state.get({ key: "k", consistency: "EVENTUAL", metadata: {} }));
    expect(error.status).toBe("UNAVAILABLE");
    expect(error.message).toMatch(/timed out/);
    expect(ms).toBeGreaterThanOrEqual(readTimeoutMs - 50);
    expect(ms).toBeLessThan(readTimeoutMs + 1_000);
    await expect(state.health!()).rejects.toMatchObject({ status: "UNAVAILABLE" });
    await redis.raw().call("CLIENT", "UNPAUSE");
    await eventually(() => state.health!().then(() => true, () => false), 3_000);
    expect(text((await state.get({ key: "k", consistency: "EVENTUAL", metadata: {} })).data)).toBe("v");
  });

  it("stops waiting when the call's context aborts: TIMEOUT past its deadline, CANCELLED otherwise, long before readTimeout", async () => {
    const state = components.track(await redisStateAdapter.create(redis.metadata({ readTimeout: "30s" }), context()));
    await state.set(setReq("k", "v"));
    // Silent for 1.5 s, which ends by itself: a call that waited for Redis would take that long at least.
    await redis.raw().call("CLIENT", "PAUSE", "1500", "ALL");
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(), 50);
    const timedOut = await failure(() =>
      state.get({ key: "k", consistency: "EVENTUAL", metadata: {} }, { signal: deadline.signal, deadline: Date.now() + 50 }),
    );
    expect(timedOut.error.status).toBe("DEADLINE_EXCEEDED");
    expect(timedOut.ms).toBeLessThan(1_500);
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 50);
    const cancelled = await failure(() => state.set(setReq("k", "w"), { signal: cancel.signal, deadline: undefined }));
    expect(cancelled.error.status).toBe("CANCELLED");
    // Aborted before it starts: nothing is sent.
    const over = await failure(() => state.get({ key: "k", consistency: "EVENTUAL", metadata: {} }, { signal: AbortSignal.abort(), deadline: undefined }));
    expect(over.error.status).toBe("CANCELLED");
    // The cancelled write was sent before the cancel and runs once Redis answers again:
    // cancelling stops the waiting, not the backend.
    await eventually(() => state.health!().then(() => true, () => false), 5_000);
    expect(["v", "w"]).toContain(text((await state.get({ key: "k", consistency: "EVENTUAL", metadata: {} })).data));
  });

  it("fails a command caught by a dropped connection with UNAVAILABLE at once, and never sends it again", async () => {
    const lock = components.track(await redisLockAdapter.create(redis.metadata(fast), { ...context(), componentName: "locks" }));
    await lock.health!();
    // Redis holds writes: the tryLock below is sent but does not run.
    await redis.raw().call("CLIENT", "PAUSE", "5000", "WRITE");
    const pending = lock.tryLock({ resourceId: "r", lockOwner: "o", expireSeconds: 60 }).catch((e: unknown) => e);
    // Drop the lock's connection, found by the name it gives itself.
    const clients = String(await redis.raw().call("CLIENT", "LIST"));
    const id = /id=(\d+) .*name=ottavo:locks /.exec(clients)?.[1];
    expect(id).toBeDefined();
    const dropped = Date.now();
    await redis.raw().call("CLIENT", "KILL", "ID", id!);
    const error = await pending;
    expect((error as ComponentError).status).toBe("UNAVAILABLE");
    expect(Date.now() - dropped).toBeLessThan(readTimeoutMs);
    await redis.raw().call("CLIENT", "UNPAUSE");
    // Once reconnected (a resent command would run before this PING), the lock was never taken.
    await eventually(() => lock.health!().then(() => true, () => false), 3_000);
    expect(await redis.raw().exists("r")).toBe(0);
    expect(await lock.tryLock({ resourceId: "r", lockOwner: "o", expireSeconds: 60 })).toEqual({ success: true });
  });
});
