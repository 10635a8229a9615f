import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { helloworldAdapter } from "./helloworld";
import { inMemoryConfigurationAdapter } from "./in-memory-configuration-store";
import { inMemoryLockAdapter } from "./in-memory-lock-store";
import { inMemoryPubsubAdapter } from "./in-memory-pubsub";
import { inMemorySequencerAdapter } from "./in-memory-sequencer";
import { inMemoryStateAdapter } from "./in-memory-state-store";
import { staticNameresolutionAdapter } from "./static-name-resolver";

/** Every adapter of this package, for the kernel's registry. */
export const memoryAdapters: readonly CapabilityAdapterFactory[] = [
  helloworldAdapter,
  inMemoryStateAdapter,
  inMemoryLockAdapter,
  inMemorySequencerAdapter,
  inMemoryConfigurationAdapter,
  inMemoryPubsubAdapter,
  staticNameresolutionAdapter,
];

export { helloworldAdapter, HelloWorld } from "./helloworld";
export { inMemoryStateAdapter, InMemoryStateStore, type InMemoryStateStoreOptions } from "./in-memory-state-store";
export { inMemoryLockAdapter, InMemoryLockStore, type InMemoryLockStoreOptions } from "./in-memory-lock-store";
export { inMemorySequencerAdapter, InMemorySequencer } from "./in-memory-sequencer";
export { inMemoryConfigurationAdapter, InMemoryConfigurationStore } from "./in-memory-configuration-store";
export { inMemoryPubsubAdapter, InMemoryPubsub, type InMemoryPubsubOptions } from "./in-memory-pubsub";
export { staticNameresolutionAdapter, StaticNameResolver } from "./static-name-resolver";
export type { Clock } from "./clock";
