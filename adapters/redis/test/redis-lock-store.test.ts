import { ComponentError } from "@ottavo/component-runtime";
import type { RedisLock } from "@ottavo/generated/components/adapters/redis";
import {
  LockKeepAliveResponse_Status,
  UnlockResponse_Status,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { redisLockAdapter } from "../src/redis-lock-store";
import { closer, context, eventually, useRedis } from "./support";

const redis = useRedis();
const components = closer();
afterEach(() => components.closeAll());

async function store(): Promise<RedisLock> {
  return components.track(await redisLockAdapter.create(redis.metadata(), context()));
}

const lock = (s: RedisLock, owner: string, expireSeconds = 10, resourceId = "lock|||app1||res") =>
  s.tryLock({ resourceId, lockOwner: owner, expireSeconds });
const unlock = (s: RedisLock, owner: string, resourceId = "lock|||app1||res") => s.unlock({ resourceId, lockOwner: owner });

describe("redis lock", () => {
  it("grants a lock to one owner at a time, across components on the same Redis, and is not reentrant", async () => {
    const [a, b] = [await store(), await store()];
    expect(await lock(a, "owner1")).toEqual({ success: true });
    expect(await lock(b, "owner2")).toEqual({ success: false });
    expect(await lock(a, "owner1")).toEqual({ success: false });
    // The key holds the owner, with the lease as its expiry.
    expect(await redis.raw().get("lock|||app1||res")).toBe("owner1");
    expect(await redis.raw().pttl("lock|||app1||res")).toBeGreaterThan(9_000);
  });

  it("lets exactly one of many concurrent callers take a lock", async () => {
    const stores = await Promise.all([store(), store(), store()]);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => lock(stores[i % stores.length], `owner${i}`)),
    );
    expect(results.filter((r) => r.success)).toHaveLength(1);
  });

  it("unlocks only for the owner: others get LOCK_BELONG_TO_OTHERS, a free lock LOCK_UNEXIST", async () => {
    const s = await store();
    expect(await unlock(s, "owner1")).toBe(UnlockResponse_Status.LOCK_UNEXIST);
    await lock(s, "owner1");
    expect(await unlock(s, "owner2")).toBe(UnlockResponse_Status.LOCK_BELONG_TO_OTHERS);
    expect(await redis.raw().get("lock|||app1||res")).toBe("owner1");
    expect(await unlock(s, "owner1")).toBe(UnlockResponse_Status.SUCCESS);
    expect(await lock(s, "owner2")).toEqual({ success: true });
  });

  it("frees a lock when its lease expires", async () => {
    const s = await store();
    await lock(s, "owner1", 1);
    await eventually(async () => (await lock(s, "owner2", 10)).success, 3_000);
    expect(await unlock(s, "owner1")).toBe(UnlockResponse_Status.LOCK_BELONG_TO_OTHERS);
  });

  it("extends the lease for the owner only", async () => {
    const s = await store();
    expect(await s.keepAlive({ resourceId: "lock|||app1||res", lockOwner: "owner1", expireSeconds: 5 })).toBe(
      LockKeepAliveResponse_Status.LOCK_UNEXIST,
    );
    await lock(s, "owner1", 1);
    expect(await s.keepAlive({ resourceId: "lock|||app1||res", lockOwner: "owner2", expireSeconds: 100 })).toBe(
      LockKeepAliveResponse_Status.LOCK_BELONG_TO_OTHERS,
    );
    expect(await redis.raw().pttl("lock|||app1||res")).toBeLessThanOrEqual(1_000);
    expect(await s.keepAlive({ resourceId: "lock|||app1||res", lockOwner: "owner1", expireSeconds: 100 })).toBe(
      LockKeepAliveResponse_Status.SUCCESS,
    );
    expect(await redis.raw().pttl("lock|||app1||res")).toBeGreaterThan(99_000);
  });

  it("refuses a non-positive expiry as INVALID_ARGUMENT", async () => {
    const s = await store();
    const error = await lock(s, "owner1", 0).catch((e: unknown) => e);
    expect((error as ComponentError).status).toBe("INVALID_ARGUMENT");
  });

  it("declares KEEPALIVE", async () => {
    expect([...(await store()).features]).toEqual(["KEEPALIVE"]);
  });
});
