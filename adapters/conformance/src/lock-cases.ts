import { lockFeatures, type LockFeature, type LockStore, type LockStoreWith } from "@ottavo/generated/components/lock";
import {
  LockKeepAliveResponse_Status as KeepAliveStatus,
  UnlockResponse_Status as UnlockStatus,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { equal, succeeds } from "./assertions";
import type { ConformanceCase, ConformanceSuite } from "./conformance-case";
import { holdsFor, waitFor } from "./deadline";

/**
 * The lock store suite, from spec/components/lock.cap: named, expiring,
 * non-reentrant locks. Leases in time-dependent cases last 1 or 2 s; expiry is
 * polled for against a deadline, survival checked all along a short window.
 */

type Case<F extends LockFeature | never> = ConformanceCase<[F] extends [never] ? LockStore : LockStoreWith<F>, LockFeature>;

const core: readonly Case<never>[] = [
  {
    name: "tryLock takes a free lock",
    async run(store, env) {
      const resource = env.key("r");
      await takes(store, resource, "owner-a", 10);
    },
  },
  {
    name: "a held lock excludes other owners",
    async run(store, env) {
      const resource = env.key("r");
      await takes(store, resource, "owner-a", 10);
      await refused(store, resource, "owner-b", "while owner-a holds it");
    },
  },
  {
    name: "locks are not re-entrant: the holder taking it again fails, and still holds it",
    async run(store, env) {
      const resource = env.key("r");
      await takes(store, resource, "owner-a", 10);
      await refused(store, resource, "owner-a", "again by its holder");
      await refused(store, resource, "owner-b", "after its holder tried again");
      equal(await unlock(store, resource, "owner-a"), "SUCCESS", `unlock '${resource}' by its holder after a re-entry attempt`);
    },
  },
  {
    name: "locks are independent: holding one does not hold another",
    async run(store, env) {
      const [r1, r2] = [env.key("r1"), env.key("r2")];
      await takes(store, r1, "owner-a", 10);
      await takes(store, r2, "owner-b", 10);
    },
  },
  {
    name: "unlock by the owner answers SUCCESS and frees the lock; unlocking again answers LOCK_UNEXIST",
    async run(store, env) {
      const resource = env.key("r");
      await takes(store, resource, "owner-a", 10);
      equal(await unlock(store, resource, "owner-a"), "SUCCESS", `unlock '${resource}' by its owner`);
      equal(await unlock(store, resource, "owner-a"), "LOCK_UNEXIST", `second unlock of '${resource}' by its former owner`);
      await takes(store, resource, "owner-b", 10);
    },
  },
  {
    name: "unlock by another owner answers LOCK_BELONG_TO_OTHERS and the lock stays held",
    async run(store, env) {
      const resource = env.key("r");
      await takes(store, resource, "owner-a", 10);
      equal(await unlock(store, resource, "owner-b"), "LOCK_BELONG_TO_OTHERS", `unlock '${resource}' by a non-owner`);
      await refused(store, resource, "owner-c", "after a non-owner tried to unlock it");
      equal(await unlock(store, resource, "owner-a"), "SUCCESS", `unlock '${resource}' by its owner after a non-owner tried`);
    },
  },
  {
    name: "unlock of a lock nobody holds answers LOCK_UNEXIST",
    async run(store, env) {
      const resource = env.key("never-taken");
      equal(await unlock(store, resource, "owner-a"), "LOCK_UNEXIST", `unlock of never-taken '${resource}'`);
      await takes(store, resource, "owner-b", 10);
    },
  },
  {
    name: "a lease lasts its expireSeconds: held for 2 s, free within 3 s after",
    timeoutMs: 15_000,
    async run(store, env) {
      const resource = env.key("r");
      const takenAt = Date.now();
      await takes(store, resource, "owner-a", 2);
      // Seconds, not milliseconds: the lock must still be held well into its lease.
      await holdsFor(`'${resource}' (2 s lease) stays held`, 1_200, async () => !(await tryLock(store, resource, "owner-b", 1)));
      await waitFor(`'${resource}' (2 s lease) can be taken by another owner after expiry`, 5_000 - (Date.now() - takenAt), () =>
        tryLock(store, resource, "owner-c", 10),
      );
      equal(await unlock(store, resource, "owner-a"), "LOCK_BELONG_TO_OTHERS", `unlock '${resource}' by its expired owner, now taken by another`);
    },
  },
  {
    name: "unlock after the lease expired answers LOCK_UNEXIST",
    timeoutMs: 15_000,
    async run(store, env) {
      const [expired, probe] = [env.key("expired"), env.key("probe")];
      await takes(store, expired, "owner-a", 1);
      await takes(store, probe, "owner-a", 1);
      // The probe, taken later with the same lease, frees no earlier than the other lock.
      await waitFor(`'${probe}' (1 s lease) expires`, 3_000, () => tryLock(store, probe, "owner-b", 10));
      equal(await unlock(store, expired, "owner-a"), "LOCK_UNEXIST", `unlock of '${expired}' after its lease expired`);
    },
  },
  {
    name: "of 20 owners racing for one lock, exactly one wins",
    async run(store, env) {
      const resource = env.key("r");
      const owners = Array.from({ length: 20 }, (_, i) => `owner-${i}`);
      const results = await Promise.all(owners.map((owner) => tryLock(store, resource, owner, 10)));
      const winners = owners.filter((_, i) => results[i]);
      equal(winners.length, 1, `owners that took '${resource}' in a race of 20 (${winners.join(", ")})`);
      equal(await unlock(store, resource, winners[0]), "SUCCESS", `unlock '${resource}' by the race's winner`);
    },
  },
];

const keepalive: readonly Case<"KEEPALIVE">[] = [
  {
    name: "keepAlive by the owner answers SUCCESS and extends the lease past its first expiry",
    timeoutMs: 15_000,
    async run(store, env) {
      const resource = env.key("r");
      await takes(store, resource, "owner-a", 1);
      equal(await keepAlive(store, resource, "owner-a", 3), "SUCCESS", `keepAlive '${resource}' by its owner`);
      await holdsFor(`'${resource}' (1 s lease, extended to 3 s) stays held past 1 s`, 1_800, async () =>
        !(await tryLock(store, resource, "owner-b", 1)),
      );
      equal(await unlock(store, resource, "owner-a"), "SUCCESS", `unlock '${resource}' by its owner after keepAlive`);
    },
  },
  {
    name: "keepAlive by another owner answers LOCK_BELONG_TO_OTHERS and does not extend the lease",
    timeoutMs: 15_000,
    async run(store, env) {
      const resource = env.key("r");
      await takes(store, resource, "owner-a", 1);
      equal(await keepAlive(store, resource, "owner-b", 60), "LOCK_BELONG_TO_OTHERS", `keepAlive '${resource}' by a non-owner`);
      await waitFor(`'${resource}' (1 s lease, keepAlive by a non-owner) expires`, 3_000, () => tryLock(store, resource, "owner-c", 10));
    },
  },
  {
    name: "keepAlive of a lock nobody holds answers LOCK_UNEXIST and takes nothing",
    async run(store, env) {
      const resource = env.key("never-taken");
      equal(await keepAlive(store, resource, "owner-a", 10), "LOCK_UNEXIST", `keepAlive of never-taken '${resource}'`);
      await takes(store, resource, "owner-b", 10);
    },
  },
  {
    name: "keepAlive after the lease expired answers LOCK_UNEXIST",
    timeoutMs: 15_000,
    async run(store, env) {
      const [expired, probe] = [env.key("expired"), env.key("probe")];
      await takes(store, expired, "owner-a", 1);
      await takes(store, probe, "owner-a", 1);
      await waitFor(`'${probe}' (1 s lease) expires`, 3_000, () => tryLock(store, probe, "owner-b", 10));
      // A backend may revoke leases that expire together concurrently (etcd does): a second
      // probe, taken once the first expired, expires only after those revocations are through.
      const later = env.key("probe-later");
      await takes(store, later, "owner-a", 1);
      await waitFor(`'${later}' (1 s lease) expires`, 3_000, () => tryLock(store, later, "owner-b", 10));
      equal(await keepAlive(store, expired, "owner-a", 10), "LOCK_UNEXIST", `keepAlive of '${expired}' after its lease expired`);
      await takes(store, expired, "owner-b", 10);
    },
  },
  {
    name: "keepAlive after unlock answers LOCK_UNEXIST",
    async run(store, env) {
      const resource = env.key("r");
      await takes(store, resource, "owner-a", 10);
      equal(await unlock(store, resource, "owner-a"), "SUCCESS", `unlock '${resource}' by its owner`);
      equal(await keepAlive(store, resource, "owner-a", 10), "LOCK_UNEXIST", `keepAlive of '${resource}' after unlock`);
    },
  },
];

/** Every lock case, by group; a feature added to lock.cap fails this declaration until it has cases. */
export const lockCases: { readonly core: readonly Case<never>[] } & { readonly [F in LockFeature]: readonly Case<F>[] } = {
  core,
  KEEPALIVE: keepalive,
};

export const lockSuite: ConformanceSuite<"lock"> = { capability: "lock", features: lockFeatures, cases: lockCases };

async function tryLock(store: LockStore, resourceId: string, lockOwner: string, expireSeconds: number): Promise<boolean> {
  const result = await succeeds(store.tryLock({ resourceId, lockOwner, expireSeconds }), `tryLock '${resourceId}' by ${lockOwner}`);
  return result.success;
}

async function takes(store: LockStore, resourceId: string, lockOwner: string, expireSeconds: number): Promise<void> {
  equal(await tryLock(store, resourceId, lockOwner, expireSeconds), true, `tryLock free '${resourceId}' by ${lockOwner}: success`);
}

async function refused(store: LockStore, resourceId: string, lockOwner: string, when: string): Promise<void> {
  equal(await tryLock(store, resourceId, lockOwner, 10), false, `tryLock '${resourceId}' by ${lockOwner} ${when}: success`);
}

/** The status by name ("SUCCESS", "LOCK_UNEXIST"...), so a failure reads as words, not numbers. */
async function unlock(store: LockStore, resourceId: string, lockOwner: string): Promise<string> {
  const status = await succeeds(store.unlock({ resourceId, lockOwner }), `unlock '${resourceId}' by ${lockOwner}`);
  return UnlockStatus[status] ?? `unknown status ${status}`;
}

async function keepAlive(store: LockStoreWith<"KEEPALIVE">, resourceId: string, lockOwner: string, expireSeconds: number): Promise<string> {
  const status = await succeeds(store.keepAlive({ resourceId, lockOwner, expireSeconds }), `keepAlive '${resourceId}' by ${lockOwner}`);
  return KeepAliveStatus[status] ?? `unknown status ${status}`;
}
