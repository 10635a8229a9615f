import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { etcdLockAdapter } from "./etcd-lock-store";
import { etcdSequencerAdapter } from "./etcd-sequencer";

/** Every etcd adapter, for the runtime's registry. */
export const etcdAdapters: readonly CapabilityAdapterFactory[] = [etcdLockAdapter, etcdSequencerAdapter];

export { etcdLockAdapter, EtcdLockStore } from "./etcd-lock-store";
export { etcdSequencerAdapter, EtcdSequencer } from "./etcd-sequencer";
export { EtcdConnection } from "./etcd-connection";
