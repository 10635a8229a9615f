import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  LockKeepAliveRequestSchema,
  LockKeepAliveResponse_Status,
  TryLockRequestSchema,
  UnlockRequestSchema,
  UnlockResponse_Status,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { contextFor, expectError, runtimeWith } from "./support";

describe("lock handlers", () => {
  let runtime: Awaited<ReturnType<typeof runtimeWith>>;
  const ctx = contextFor("tryLock");

  beforeEach(async () => {
    runtime = await runtimeWith([
      { capability: "lock", type: "in-memory", name: "lock_demo" },
      { capability: "lock", type: "in-memory", name: "by_name", metadata: { keyPrefix: "name" } },
      { capability: "lock", type: "in-memory", name: "unscoped", metadata: { keyPrefix: "none" } },
      { capability: "lock", type: "in-memory", name: "custom", metadata: { keyPrefix: "Team" } },
      { capability: "lock", type: "in-memory", name: "no_keepalive", onlyFeatures: [] },
    ]);
  });
  afterEach(() => runtime.close());

  const tryLock = (storeName: string, resourceId: string, lockOwner: string, expire = 10) =>
    runtime.groups.lock.tryLock(create(TryLockRequestSchema, { storeName, resourceId, lockOwner, expire }), ctx);
  const unlock = (storeName: string, resourceId: string, lockOwner: string) =>
    runtime.groups.lock.unlock(create(UnlockRequestSchema, { storeName, resourceId, lockOwner }), ctx);
  const keepAlive = (storeName: string, resourceId: string, lockOwner: string, expire = 10) =>
    runtime.groups.lock.lockKeepAlive(create(LockKeepAliveRequestSchema, { storeName, resourceId, lockOwner, expire }), ctx);

  it("grants a free lock once, not re-entrantly, and to nobody else", async () => {
    expect(await tryLock("lock_demo", "order_1", "owner_a")).toEqual({ success: true });
    expect(await tryLock("lock_demo", "order_1", "owner_a")).toEqual({ success: false });
    expect(await tryLock("lock_demo", "order_1", "owner_b")).toEqual({ success: false });
    expect(await tryLock("lock_demo", "order_2", "owner_b")).toEqual({ success: true });
  });

  it("answers unlock with the status enum", async () => {
    await tryLock("lock_demo", "r", "owner_a");
    expect(await unlock("lock_demo", "r", "owner_b")).toEqual({ status: UnlockResponse_Status.LOCK_BELONG_TO_OTHERS });
    expect(await unlock("lock_demo", "r", "owner_a")).toEqual({ status: UnlockResponse_Status.SUCCESS });
    expect(await unlock("lock_demo", "r", "owner_a")).toEqual({ status: UnlockResponse_Status.LOCK_UNEXIST });
  });

  it("extends a held lease and reports who holds it", async () => {
    await tryLock("lock_demo", "r", "owner_a", 1);
    expect(await keepAlive("lock_demo", "r", "owner_a", 30)).toEqual({ status: LockKeepAliveResponse_Status.SUCCESS });
    expect(await keepAlive("lock_demo", "r", "owner_b", 30)).toEqual({
      status: LockKeepAliveResponse_Status.LOCK_BELONG_TO_OTHERS,
    });
    expect(await keepAlive("lock_demo", "other", "owner_a", 30)).toEqual({
      status: LockKeepAliveResponse_Status.LOCK_UNEXIST,
    });
  });

  it("answers UNIMPLEMENTED for keep-alive on a store without KEEPALIVE", async () => {
    await expectError(
      keepAlive("no_keepalive", "r", "owner_a"),
      Code.Unimplemented,
      "lock store no_keepalive (type in-memory) does not support LockKeepAlive: its type lacks the KEEPALIVE feature",
    );
  });

  describe("key prefixes", () => {
    /** Whether the backend holds a lock under exactly this key. */
    const heldUnder = async (storeName: string, key: string) =>
      !(await runtime.component("lock", storeName).tryLock({ resourceId: key, lockOwner: "probe", expireSeconds: 1 })).success;

    it("scopes resources as lock|||<appid>||<resource> by default", async () => {
      await tryLock("lock_demo", "r", "owner_a");
      expect(await heldUnder("lock_demo", "lock|||app1||r")).toBe(true);
    });

    it("follows the keyPrefix metadata: name, none, or a literal lower-cased as Layotto does", async () => {
      await tryLock("by_name", "r", "o");
      await tryLock("unscoped", "r", "o");
      await tryLock("custom", "r", "o");
      expect(await heldUnder("by_name", "lock|||by_name||r")).toBe(true);
      expect(await heldUnder("unscoped", "lock|||r")).toBe(true);
      expect(await heldUnder("custom", "lock|||team||r")).toBe(true);
    });

    it("leaves the app id out when the runtime has none", async () => {
      const anonymous = await runtimeWith([{ capability: "lock", type: "in-memory", name: "lock_demo" }], "");
      try {
        await anonymous.groups.lock.tryLock(
          create(TryLockRequestSchema, { storeName: "lock_demo", resourceId: "r", lockOwner: "o", expire: 5 }),
          ctx,
        );
        const probe = await anonymous
          .component("lock", "lock_demo")
          .tryLock({ resourceId: "lock|||r", lockOwner: "probe", expireSeconds: 1 });
        expect(probe.success).toBe(false);
      } finally {
        await anonymous.close();
      }
    });

    it("refuses resources containing ||", async () => {
      await expectError(tryLock("lock_demo", "a||b", "o"), Code.InvalidArgument, "input key/keyPrefix 'a||b' can't contain '||'");
    });
  });

  describe("validation, in Layotto's order and words", () => {
    it("answers INVALID_ARGUMENT for an empty resource, an empty owner, or an expire not above 0", async () => {
      await expectError(tryLock("lock_demo", "", "o"), Code.InvalidArgument, "ResourceId is empty in lock store lock_demo");
      await expectError(tryLock("lock_demo", "r", ""), Code.InvalidArgument, "LockOwner is empty in lock store lock_demo");
      await expectError(tryLock("lock_demo", "r", "o", 0), Code.InvalidArgument, "Expire is not positive in lock store lock_demo");
      await expectError(tryLock("lock_demo", "r", "o", -3), Code.InvalidArgument, "Expire is not positive in lock store lock_demo");
      await expectError(unlock("lock_demo", "", "o"), Code.InvalidArgument, "ResourceId is empty in lock store lock_demo");
      await expectError(unlock("lock_demo", "r", ""), Code.InvalidArgument, "LockOwner is empty in lock store lock_demo");
      await expectError(keepAlive("lock_demo", "r", "o", 0), Code.InvalidArgument, "Expire is not positive in lock store lock_demo");
    });

    it("checks the fields before the store name", async () => {
      await expectError(tryLock("nope", "", "o"), Code.InvalidArgument, "ResourceId is empty in lock store nope");
    });

    it("answers INVALID_ARGUMENT for an unknown store", async () => {
      await expectError(tryLock("nope", "r", "o"), Code.InvalidArgument, "lock store nope not found");
      await expectError(unlock("nope", "r", "o"), Code.InvalidArgument, "lock store nope not found");
      await expectError(keepAlive("nope", "r", "o"), Code.InvalidArgument, "lock store nope not found");
    });

    it("answers FAILED_PRECONDITION when no lock store is configured, before anything else", async () => {
      const bare = await runtimeWith([]);
      await expectError(
        bare.groups.lock.tryLock(create(TryLockRequestSchema, { storeName: "x" }), ctx),
        Code.FailedPrecondition,
        "lock store is not configured",
      );
      await expectError(
        bare.groups.lock.unlock(create(UnlockRequestSchema, { storeName: "x" }), ctx),
        Code.FailedPrecondition,
        "lock store is not configured",
      );
      await expectError(
        bare.groups.lock.lockKeepAlive(create(LockKeepAliveRequestSchema, { storeName: "x" }), ctx),
        Code.FailedPrecondition,
        "lock store is not configured",
      );
    });
  });
});
