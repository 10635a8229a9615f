import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { redisConfigurationAdapter } from "./redis-configuration-store";
import { redisLockAdapter } from "./redis-lock-store";
import { redisSequencerAdapter } from "./redis-sequencer";
import { redisStateAdapter } from "./redis-state-store";

/** Every adapter of this package, for the kernel's registry. */
export const redisAdapters: readonly CapabilityAdapterFactory[] = [
  redisStateAdapter,
  redisLockAdapter,
  redisSequencerAdapter,
  redisConfigurationAdapter,
];

export { redisStateAdapter, RedisStateStore } from "./redis-state-store";
export { redisLockAdapter, RedisLockStore } from "./redis-lock-store";
export { redisSequencerAdapter, RedisSequencer } from "./redis-sequencer";
export { redisConfigurationAdapter, RedisConfigurationStore } from "./redis-configuration-store";
export { RedisConnection, type RedisConnectionMetadata } from "./redis-connection";
