import type { KeepAliveRequest, TryLockRequest, TryLockResult, UnlockRequest } from "@ottavo/generated/components/lock";
import { defineEtcdLockAdapter, etcdLockFeatures, type EtcdLock } from "@ottavo/generated/components/adapters/etcd";
import { LockKeepAliveResponse_Status, UnlockResponse_Status } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { EtcdConnection } from "./etcd-connection";

/**
 * The "etcd" lock store, Layotto's scheme: a lock is the key <prefix><resource>
 * holding its owner, attached to a lease of `expire` seconds, put in a
 * transaction only when the key has never been created (so taking is atomic and
 * not reentrant). etcd deletes the key when the lease ends. Unlock deletes and
 * keepAlive renews the lease only when the key still holds the caller as owner.
 */
export class EtcdLockStore implements EtcdLock {
  readonly features = new Set(etcdLockFeatures);

  constructor(private readonly connection: EtcdConnection) {}

  async tryLock(request: TryLockRequest): Promise<TryLockResult> {
    const key = this.key(request.resourceId);
    const { client } = this.connection;
    return this.connection.call(async () => {
      const lease = client.lease(request.expireSeconds, { autoKeepAlive: false });
      const id = await lease.grant();
      const taken = await client.if(key, "Create", "==", 0).then(client.put(key).value(request.lockOwner).lease(id)).commit();
      if (!taken.succeeded) await lease.revoke();
      return { success: taken.succeeded };
    });
  }

  async unlock(request: UnlockRequest): Promise<UnlockResponse_Status> {
    const key = this.key(request.resourceId);
    const { client } = this.connection;
    return this.connection.call(async () => {
      const released = await client.if(key, "Value", "==", request.lockOwner).then(client.delete().key(key)).else(client.get(key)).commit();
      if (released.succeeded) return UnlockResponse_Status.SUCCESS;
      const held = released.responses[0]?.response_range?.kvs.length ?? 0;
      return held === 0 ? UnlockResponse_Status.LOCK_UNEXIST : UnlockResponse_Status.LOCK_BELONG_TO_OTHERS;
    });
  }

  async keepAlive(request: KeepAliveRequest): Promise<LockKeepAliveResponse_Status> {
    const key = this.key(request.resourceId);
    const { client } = this.connection;
    return this.connection.call(async () => {
      const found = await client.get(key).exec();
      const kv = found.kvs[0];
      if (kv === undefined) return LockKeepAliveResponse_Status.LOCK_UNEXIST;
      if (kv.value.toString("utf8") !== request.lockOwner) return LockKeepAliveResponse_Status.LOCK_BELONG_TO_OTHERS;
      // A fresh lease of the asked length, moved onto the key only if it still holds this owner at this revision.
      const lease = client.lease(request.expireSeconds, { autoKeepAlive: false });
      const id = await lease.grant();
      const moved = await client
        .if(key, "Mod", "==", kv.mod_revision)
        .then(client.put(key).value(request.lockOwner).lease(id))
        .commit();
      if (!moved.succeeded) {
        await lease.revoke();
        return LockKeepAliveResponse_Status.LOCK_UNEXIST;
      }
      if (kv.lease !== "0") await client.leaseClient.leaseRevoke({ ID: kv.lease }).catch(() => undefined);
      return LockKeepAliveResponse_Status.SUCCESS;
    });
  }

  health(): Promise<void> {
    return this.connection.health();
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  private key(resourceId: string): string {
    return `${this.connection.prefix}${resourceId}`;
  }
}

/** The "etcd" lock adapter, as the registry holds it. */
export const etcdLockAdapter = defineEtcdLockAdapter(async (metadata, context) => new EtcdLockStore(EtcdConnection.open(metadata, metadata.keyPrefixPath, context)));
