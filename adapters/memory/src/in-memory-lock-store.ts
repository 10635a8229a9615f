import type { KeepAliveRequest, LockStoreSync, TryLockRequest, TryLockResult, UnlockRequest } from "@ottavo/generated/components/lock";
import {
  defineInMemoryLockAdapter,
  inMemoryLockFeatures,
  type InMemoryLock,
} from "@ottavo/generated/components/adapters/in-memory";
import {
  LockKeepAliveResponse_Status,
  UnlockResponse_Status,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { systemClock, type Clock } from "./clock";

/**
 * The "in-memory" lock store: expiring, non-reentrant locks held in this process.
 *
 * A lease ends at a timestamp checked on each call, so no timer runs per lock; a
 * lock past its end is free for anyone and unknown to unlock and keepAlive. Keys
 * arrive already scoped by the kernel (metadata keyPrefix is the kernel's).
 */
export class InMemoryLockStore implements InMemoryLock {
  readonly features = new Set(inMemoryLockFeatures);

  private readonly leases = new Map<string, Lease>();
  private readonly now: Clock;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: InMemoryLockStoreOptions = {}) {
    this.now = options.now ?? systemClock;
    // One timer per store drops leases nobody touches again, bounding memory.
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweeper.unref();
  }

  /** Every operation answers at once: the same work, synchronously. */
  readonly sync: LockStoreSync = {
    tryLock: (request) => this.take(request),
    unlock: (request) => this.release(request),
    keepAlive: (request) => this.extend(request),
  };

  async tryLock(request: TryLockRequest): Promise<TryLockResult> {
    return this.take(request);
  }

  async unlock(request: UnlockRequest): Promise<UnlockResponse_Status> {
    return this.release(request);
  }

  async keepAlive(request: KeepAliveRequest): Promise<LockKeepAliveResponse_Status> {
    return this.extend(request);
  }

  private take(request: TryLockRequest): TryLockResult {
    const ttlMs = leaseMs(request.expireSeconds);
    if (this.held(request.resourceId) !== undefined) return { success: false };
    this.leases.set(request.resourceId, { owner: request.lockOwner, expiresAt: this.now() + ttlMs });
    return { success: true };
  }

  private release(request: UnlockRequest): UnlockResponse_Status {
    const lease = this.held(request.resourceId);
    if (lease === undefined) return UnlockResponse_Status.LOCK_UNEXIST;
    if (lease.owner !== request.lockOwner) return UnlockResponse_Status.LOCK_BELONG_TO_OTHERS;
    this.leases.delete(request.resourceId);
    return UnlockResponse_Status.SUCCESS;
  }

  private extend(request: KeepAliveRequest): LockKeepAliveResponse_Status {
    const ttlMs = leaseMs(request.expireSeconds);
    const lease = this.held(request.resourceId);
    if (lease === undefined) return LockKeepAliveResponse_Status.LOCK_UNEXIST;
    if (lease.owner !== request.lockOwner) return LockKeepAliveResponse_Status.LOCK_BELONG_TO_OTHERS;
    lease.expiresAt = this.now() + ttlMs;
    return LockKeepAliveResponse_Status.SUCCESS;
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  /** The lease of a lock someone holds now; an expired lease is dropped on the way. */
  private held(resourceId: string): Lease | undefined {
    const lease = this.leases.get(resourceId);
    if (lease !== undefined && lease.expiresAt <= this.now()) {
      this.leases.delete(resourceId);
      return undefined;
    }
    return lease;
  }

  private sweep(): void {
    for (const resourceId of this.leases.keys()) this.held(resourceId);
  }
}

export interface InMemoryLockStoreOptions {
  /** The clock leases are measured with; tests move it by hand. */
  now?: Clock;
  /** How often expired leases nobody touches are dropped. */
  sweepIntervalMs?: number;
}

/** The "in-memory" lock adapter, as the registry holds it. */
export const inMemoryLockAdapter = defineInMemoryLockAdapter(async () => new InMemoryLockStore());

interface Lease {
  readonly owner: string;
  expiresAt: number;
}

/** expireSeconds is at least 1 (lock.cap, checked by the adapter binding). */
function leaseMs(expireSeconds: number): number {
  return expireSeconds * 1000;
}
