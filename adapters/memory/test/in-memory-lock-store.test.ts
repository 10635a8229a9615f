import { ComponentError } from "@ottavo/component-runtime";
import type { InMemoryLock } from "@ottavo/generated/components/adapters/in-memory";
import {
  LockKeepAliveResponse_Status,
  UnlockResponse_Status,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { InMemoryLockStore, inMemoryLockAdapter } from "../src/in-memory-lock-store";
import { closer, context, manualClock } from "./support";

const components = closer();
afterEach(() => components.closeAll());

describe("in-memory lock", () => {
  let clock: ReturnType<typeof manualClock>;
  let locks: InMemoryLock;
  beforeEach(() => {
    clock = manualClock();
    locks = components.track(new InMemoryLockStore({ now: clock.now }));
  });

  const tryLock = (owner: string, expireSeconds = 10, resourceId = "order-1") =>
    locks.tryLock({ resourceId, lockOwner: owner, expireSeconds });
  const unlock = (owner: string, resourceId = "order-1") => locks.unlock({ resourceId, lockOwner: owner });
  const keepAlive = (owner: string, expireSeconds = 10, resourceId = "order-1") =>
    locks.keepAlive({ resourceId, lockOwner: owner, expireSeconds });

  it("is created by its factory with the KEEPALIVE feature, ignoring keyPrefix", async () => {
    const created = components.track(await inMemoryLockAdapter.create({ keyPrefix: "name" }, context()));
    expect([...created.features]).toEqual(["KEEPALIVE"]);
    expect(await created.tryLock({ resourceId: "r", lockOwner: "a", expireSeconds: 1 })).toEqual({ success: true });
  });

  it("grants a free lock to one owner only", async () => {
    expect(await tryLock("alice")).toEqual({ success: true });
    expect(await tryLock("bob")).toEqual({ success: false });
    expect(await tryLock("bob", 10, "order-2")).toEqual({ success: true });
  });

  it("is not re-entrant: the holder asking again is refused", async () => {
    await tryLock("alice");
    expect(await tryLock("alice")).toEqual({ success: false });
  });

  it("frees a lock when its lease expires", async () => {
    await tryLock("alice", 5);
    clock.advance(4_999);
    expect(await tryLock("bob")).toEqual({ success: false });
    clock.advance(1);
    expect(await tryLock("bob")).toEqual({ success: true });
    expect(await unlock("alice")).toBe(UnlockResponse_Status.LOCK_BELONG_TO_OTHERS);
  });

  it("unlocks only for its owner", async () => {
    expect(await unlock("alice")).toBe(UnlockResponse_Status.LOCK_UNEXIST);
    await tryLock("alice");
    expect(await unlock("bob")).toBe(UnlockResponse_Status.LOCK_BELONG_TO_OTHERS);
    expect(await unlock("alice")).toBe(UnlockResponse_Status.SUCCESS);
    expect(await unlock("alice")).toBe(UnlockResponse_Status.LOCK_UNEXIST);
    expect(await tryLock("bob")).toEqual({ success: true });
  });

  it("answers LOCK_UNEXIST when unlocking an expired lock", async () => {
    await tryLock("alice", 1);
    clock.advance(1_000);
    expect(await unlock("alice")).toBe(UnlockResponse_Status.LOCK_UNEXIST);
  });

  it("extends the lease when the owner keeps it alive", async () => {
    await tryLock("alice", 5);
    clock.advance(4_000);
    expect(await keepAlive("alice", 5)).toBe(LockKeepAliveResponse_Status.SUCCESS);
    clock.advance(4_000);
    expect(await tryLock("bob")).toEqual({ success: false });
    clock.advance(1_000);
    expect(await tryLock("bob")).toEqual({ success: true });
  });

  it("refuses keepalive from others and for locks nobody holds", async () => {
    expect(await keepAlive("alice")).toBe(LockKeepAliveResponse_Status.LOCK_UNEXIST);
    await tryLock("alice", 1);
    expect(await keepAlive("bob")).toBe(LockKeepAliveResponse_Status.LOCK_BELONG_TO_OTHERS);
    clock.advance(1_000);
    expect(await keepAlive("alice")).toBe(LockKeepAliveResponse_Status.LOCK_UNEXIST);
  });

  it("rejects a non-positive expiry with INVALID_ARGUMENT before the store sees it (lock.cap)", async () => {
    const created = components.track(await inMemoryLockAdapter.create({}, context()));
    const error = await created.tryLock({ resourceId: "r", lockOwner: "alice", expireSeconds: 0 }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("tryLock: request.expireSeconds must be at least 1, not 0");
    expect(error).toBeInstanceOf(ComponentError);
    expect((error as ComponentError).status).toBe("INVALID_ARGUMENT");
  });
});
