/**
 * Issue 4, item 6: the built runtime serving from Redis while Redis goes away
 * (stopped, or alive but not answering) and comes back. Calls fail with
 * UNAVAILABLE within the configured timeout, readiness reports the components
 * DOWN, the process keeps running, and everything works again once Redis is
 * back, without restarting the runtime.
 */
import { Code } from "@connectrpc/connect";
import type { RuntimeClient } from "@ottavo/generated/client/runtime-client";
import { SequencerOptions_AutoIncrement, UnlockResponse_Status } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { actuatorGet, decode, encode, eventually, failedCall, grpcClient, redisConfig, redisPid } from "./support";

/** readTimeout and dialTimeout in the config; calls must fail well within `callBoundMs`. */
const timeoutMs = 1_000;
const callBoundMs = 5_000;

let redis: RedisServer;
let runtime: RunningRuntime;
let client: RuntimeClient;
/** redis-server's pid while a test holds it paused (SIGSTOP), so cleanup can resume it. */
let pausedPid: number | undefined;

beforeAll(async () => {
  redis = await startRedis();
  runtime = await startRuntime({
    config: redisConfig(redis, {
      capabilities: ["state", "lock", "sequencer"],
      metadata: { readTimeout: `${timeoutMs}ms`, dialTimeout: `${timeoutMs}ms`, redisMaxRetryInterval: "200ms" },
    }),
  });
  client = grpcClient(runtime);
}, 30_000);

afterAll(async () => {
  if (pausedPid !== undefined) process.kill(pausedPid, "SIGCONT");
  try {
    if (runtime) expect(await runtime.stop()).toBe(0);
  } finally {
    await redis?.stop();
  }
});

/** Every rpc kind the runtime serves from Redis here, each expected to fail while Redis is out of reach. */
function callsThatNeedRedis(): Array<[string, () => Promise<unknown>]> {
  return [
    ["GetState", () => client.getState({ storeName: "state_redis", key: "k" })],
    ["SaveState", () => client.saveState({ storeName: "state_redis", states: [{ key: "k", value: encode("during") }] })],
    ["DeleteState", () => client.deleteState({ storeName: "state_redis", key: "k" })],
    [
      "ExecuteStateTransaction",
      () =>
        client.executeStateTransaction({
          storeName: "state_redis",
          operations: [{ operationType: "upsert", request: { key: "k", value: encode("tx") } }],
        }),
    ],
    ["TryLock", () => client.tryLock({ storeName: "lock_redis", resourceId: "r", lockOwner: "o", expire: 5 })],
    ["Unlock", () => client.unlock({ storeName: "lock_redis", resourceId: "r", lockOwner: "o" })],
    [
      "GetNextId STRONG",
      () =>
        client.getNextId({
          storeName: "sequencer_redis",
          key: "ids",
          options: { increment: SequencerOptions_AutoIncrement.STRONG },
        }),
    ],
  ];
}

/** Each call fails with UNAVAILABLE naming the server, within the bound. */
async function expectAllUnavailable(): Promise<void> {
  for (const [name, call] of callsThatNeedRedis()) {
    const { error, ms } = await failedCall(call);
    expect({ name, code: Code[error.code] }).toEqual({ name, code: Code[Code.Unavailable] });
    expect(error.rawMessage).toContain(`${redis.host}:${redis.port}`);
    expect({ name, withinBound: ms < callBoundMs }).toEqual({ name, withinBound: true });
  }
}

async function expectServingAgain(marker: string): Promise<void> {
  // The client reconnects in the background (every 200 ms at most here): poll with a deadline.
  await eventually(() => client.saveState({ storeName: "state_redis", states: [{ key: "k", value: encode(marker) }] }));
  expect(decode((await client.getState({ storeName: "state_redis", key: "k" })).data)).toBe(marker);
  const owner = `owner-${marker}`;
  // Each component reconnects on its own backoff: wait for the lock store too (a
  // call refused while reconnecting was never sent, so retrying takes nothing twice).
  const taken = await eventually(() => client.tryLock({ storeName: "lock_redis", resourceId: `r-${marker}`, lockOwner: owner, expire: 5 }));
  expect(taken.success).toBe(true);
  expect((await client.unlock({ storeName: "lock_redis", resourceId: `r-${marker}`, lockOwner: owner })).status).toBe(
    UnlockResponse_Status.SUCCESS,
  );
  const next = await eventually(() =>
    client.getNextId({
      storeName: "sequencer_redis",
      key: "ids",
      options: { increment: SequencerOptions_AutoIncrement.STRONG },
    }),
  );
  expect(BigInt(next.nextId)).toBeGreaterThan(0n);
  const ready = await eventually(async () => {
    const answer = await actuatorGet(runtime, "/actuator/health/readiness");
    expect(answer.status).toBe(200);
    return answer.body;
  });
  expect(ready.status).toBe("UP");
  for (const key of ["state.state_redis", "lock.lock_redis", "sequencer.sequencer_redis"]) {
    expect(ready.components[key]).toEqual({ status: "UP" });
  }
}

async function expectDownButAlive(): Promise<void> {
  const ready = await eventually(async () => {
    const answer = await actuatorGet(runtime, "/actuator/health/readiness");
    expect(answer.status).toBe(503);
    return answer.body;
  });
  expect(ready.status).toBe("DOWN");
  for (const key of ["state.state_redis", "lock.lock_redis", "sequencer.sequencer_redis"]) {
    expect(ready.components[key]?.status).toBe("DOWN");
  }
  const live = await actuatorGet(runtime, "/actuator/health/liveness");
  expect([live.status, live.body.status]).toEqual([200, "UP"]);
  expect(runtime.process.exitCode).toBeNull();
  expect(runtime.process.signalCode).toBeNull();
}

describe("the runtime on Redis, when Redis fails", () => {
  it("serves, and is ready, while Redis is up", async () => {
    await client.saveState({ storeName: "state_redis", states: [{ key: "k", value: encode("before") }] });
    expect(decode((await client.getState({ storeName: "state_redis", key: "k" })).data)).toBe("before");
    const ready = await actuatorGet(runtime, "/actuator/health/readiness");
    expect(ready.status).toBe(200);
    expect(ready.body.components["state.state_redis"]).toEqual({ status: "UP" });
  });

  it("Redis stopped: calls fail fast with UNAVAILABLE, readiness is DOWN, the process lives; restarted: all is well again", async () => {
    await redis.stop();

    await expectAllUnavailable();
    await expectDownButAlive();
    // Calls made while the client keeps failing to reconnect still fail the same way.
    await expectAllUnavailable();

    await redis.restart();
    await expectServingAgain("after-restart");
    // Nothing crashed, and nothing was logged: failures reach callers and readiness only.
    expect(runtime.stderr()).toBe("");
  }, 30_000);

  it("Redis not answering (paused): calls fail with UNAVAILABLE after readTimeout, and succeed once it answers again", async () => {
    const pid = await redisPid(redis);
    process.kill(pid, "SIGSTOP");
    pausedPid = pid;
    try {
      const { error, ms } = await failedCall(() => client.getState({ storeName: "state_redis", key: "k" }));
      expect(Code[error.code]).toBe(Code[Code.Unavailable]);
      expect(error.rawMessage).toContain(`${redis.host}:${redis.port}`);
      // The connection is open, so only readTimeout ends the wait.
      expect(ms).toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(ms).toBeLessThan(callBoundMs);
      const tryLock = await failedCall(() =>
        client.tryLock({ storeName: "lock_redis", resourceId: "paused", lockOwner: "o", expire: 5 }),
      );
      expect(Code[tryLock.error.code]).toBe(Code[Code.Unavailable]);
      expect(tryLock.ms).toBeLessThan(callBoundMs);
      await expectDownButAlive();
    } finally {
      process.kill(pid, "SIGCONT");
      pausedPid = undefined;
    }
    await expectServingAgain("after-pause");
  }, 30_000);
});
