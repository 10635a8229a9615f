import type { CallContext } from "@ottavo/component-runtime";
import type { KeepAliveRequest, TryLockRequest, TryLockResult, UnlockRequest } from "@ottavo/generated/components/lock";
import {
  defineRedisLockAdapter,
  redisLockFeatures,
  type RedisLock,
} from "@ottavo/generated/components/adapters/redis";
import {
  LockKeepAliveResponse_Status,
  UnlockResponse_Status,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { RedisConnection } from "./redis-connection";
import { RedisScript } from "./redis-script";

/**
 * Releases the lock only for its owner: -1 when nobody holds it (never taken, or
 * expired), -2 when another owner does, 1 after deleting it. Layotto's and Dapr's
 * unlock scripts answer the same codes.
 */
const unlockScript = new RedisScript(
  "ottavoLockUnlock",
  `
local owner = redis.call('GET', KEYS[1])
if owner == false then return -1 end
if owner ~= ARGV[1] then return -2 end
redis.call('DEL', KEYS[1])
return 1
`,
);

/** Extends the lease (ARGV[2] milliseconds from now) only for its owner; codes as unlock. */
const keepAliveScript = new RedisScript(
  "ottavoLockKeepAlive",
  `
local owner = redis.call('GET', KEYS[1])
if owner == false then return -1 end
if owner ~= ARGV[1] then return -2 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
);

/**
 * The "redis" lock store: a lock is a string key holding its owner, taken with
 * `SET key owner NX PX <ms>` so that taking and expiring are one atomic step, and
 * Redis drops it when the lease ends. Not reentrant: NX refuses the holder too.
 * Unlock and keepAlive compare the owner and act in one script. Keys arrive scoped
 * by the kernel (the keyPrefix metadata is the kernel's), as Layotto stores them.
 */
export class RedisLockStore implements RedisLock {
  readonly features = new Set(redisLockFeatures);

  constructor(private readonly connection: RedisConnection) {
    unlockScript.define(connection.client);
    keepAliveScript.define(connection.client);
  }

  async tryLock(request: TryLockRequest, context?: CallContext): Promise<TryLockResult> {
    const ttlMs = leaseMs(request.expireSeconds);
    const reply = await this.connection.call(() =>
      this.connection.client.set(request.resourceId, request.lockOwner, "PX", ttlMs, "NX"),
      context,
    );
    return { success: reply === "OK" };
  }

  async unlock(request: UnlockRequest, context?: CallContext): Promise<UnlockResponse_Status> {
    const code = await this.connection.call(() =>
      unlockScript.run(this.connection.client, [request.resourceId], [request.lockOwner]),
      context,
    );
    if (code === -1) return UnlockResponse_Status.LOCK_UNEXIST;
    if (code === -2) return UnlockResponse_Status.LOCK_BELONG_TO_OTHERS;
    return UnlockResponse_Status.SUCCESS;
  }

  async keepAlive(request: KeepAliveRequest, context?: CallContext): Promise<LockKeepAliveResponse_Status> {
    const ttlMs = leaseMs(request.expireSeconds);
    const code = await this.connection.call(() =>
      keepAliveScript.run(this.connection.client, [request.resourceId], [request.lockOwner, ttlMs]),
      context,
    );
    if (code === -1) return LockKeepAliveResponse_Status.LOCK_UNEXIST;
    if (code === -2) return LockKeepAliveResponse_Status.LOCK_BELONG_TO_OTHERS;
    return LockKeepAliveResponse_Status.SUCCESS;
  }

  health(): Promise<void> {
    return this.connection.health();
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** The "redis" lock adapter, as the registry holds it. */
export const redisLockAdapter = defineRedisLockAdapter(
  async (metadata, context) => new RedisLockStore(await RedisConnection.open(metadata, { componentName: context.componentName })),
);

/** expireSeconds is a whole number, at least 1 (lock.cap, checked by the adapter binding). */
function leaseMs(expireSeconds: number): number {
  return expireSeconds * 1000;
}
