import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { etcdConfigurationAdapter } from "./etcd-configuration-store";
import { etcdLockAdapter } from "./etcd-lock-store";
import { etcdSequencerAdapter } from "./etcd-sequencer";

/** Every etcd adapter, for the runtime's registry. */
export const etcdAdapters: readonly CapabilityAdapterFactory[] = [etcdConfigurationAdapter, etcdLockAdapter, etcdSequencerAdapter];

export { etcdConfigurationAdapter, EtcdConfigurationStore } from "./etcd-configuration-store";
export { etcdLockAdapter, EtcdLockStore } from "./etcd-lock-store";
export { etcdSequencerAdapter, EtcdSequencer } from "./etcd-sequencer";
export { EtcdConnection } from "./etcd-connection";
