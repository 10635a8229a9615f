import { Code, ConnectError } from "@connectrpc/connect";
import { lockStoreHas } from "@ottavo/generated/components/lock";
import type { RuntimeLockRpcs } from "@ottavo/generated/server/runtime-handlers";
import type { ComponentTable } from "../registry/component-table";
import { findComponent, requireComponent } from "./component-lookup";
import { invalidArgument } from "../errors/error-mapping";
import { atComponent } from "./call-context";
import { lockCapabilityMetadataFields } from "@ottavo/generated/components/metadata-groups";
import { KeyScope, checkKey, declaredKeyPrefixDefault } from "./key-prefix";
import { asyncRpcs, reachAtOnce, reachSync, syncRpcs, then, type Bodies, type Reach, type SyncRpcs } from "./at-once";

/** The fields every lock rpc names; expire only where a lease is asked for. */
interface LockFields {
  storeName: string;
  resourceId: string;
  lockOwner: string;
  expire?: number;
}

/** The lock rpcs the API serves: a promise, or the answer itself from a store that answers at once. */
export function createLockHandlers(table: ComponentTable): RuntimeLockRpcs {
  return asyncRpcs<RuntimeLockRpcs>(lockBodies(table, reachAtOnce));
}

/** The same rpcs answered synchronously, over the stores' sync forms; a store without one answers FAILED_PRECONDITION. */
export function createLockSyncHandlers(table: ComponentTable): SyncRpcs<RuntimeLockRpcs> {
  return syncRpcs<RuntimeLockRpcs>(lockBodies(table, reachSync));
}

function lockBodies(table: ComponentTable, reach: Reach): Bodies<RuntimeLockRpcs> {
  // Layotto's lock keys: lock|||<appid>||<resource> by default (pkg/runtime/lock/lock_config.go).
  const keys = new KeyScope(table.appId, "lock|||", declaredKeyPrefixDefault(lockCapabilityMetadataFields), "lock store");

  /**
   * Checks a request in Layotto's order (configured, resource, owner, expire, store)
   * and answers the component and the backend key.
   */
  function resolve(request: LockFields) {
    const found = findComponent(table, "lock", request.storeName);
    if (request.resourceId === "") throw invalidArgument(`ResourceId is empty in lock store ${request.storeName}`);
    if (request.lockOwner === "") throw invalidArgument(`LockOwner is empty in lock store ${request.storeName}`);
    if (request.expire !== undefined && request.expire <= 0) {
      throw invalidArgument(`Expire is not positive in lock store ${request.storeName}`);
    }
    checkKey(request.resourceId);
    const entry = requireComponent(found, "lock", request.storeName);
    return { entry, resourceId: keys.scope(entry, request.resourceId) };
  }

  return {
    tryLock(request, context) {
      const { entry, resourceId } = resolve(request);
      const result = reach(entry.component, () => `lock store ${entry.name} (type ${entry.type})`).tryLock({
        resourceId,
        lockOwner: request.lockOwner,
        expireSeconds: request.expire,
      }, atComponent(context, entry.name));
      return then(result, (taken) => ({ success: taken.success }));
    },

    unlock(request, context) {
      const { entry, resourceId } = resolve(request);
      const status = reach(entry.component, () => `lock store ${entry.name} (type ${entry.type})`).unlock({ resourceId, lockOwner: request.lockOwner }, atComponent(context, entry.name));
      return then(status, (s) => ({ status: s }));
    },

    // Upstream Layotto never implemented LockKeepAlive; this extends the lease for real.
    lockKeepAlive(request, context) {
      const { entry, resourceId } = resolve(request);
      const store = entry.component;
      if (!lockStoreHas(store, "KEEPALIVE")) {
        throw new ConnectError(
          `lock store ${entry.name} (type ${entry.type}) does not support LockKeepAlive: its type lacks the KEEPALIVE feature`,
          Code.Unimplemented,
        );
      }
      const status = reach(store, () => `lock store ${entry.name} (type ${entry.type})`).keepAlive({
        resourceId,
        lockOwner: request.lockOwner,
        expireSeconds: request.expire,
      }, atComponent(context, entry.name));
      return then(status, (s) => ({ status: s }));
    },
  };
}
