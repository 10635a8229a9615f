import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { redisConfigurationAdapter } from "./redis-configuration-store";
import { redisLockAdapter } from "./redis-lock-store";
import { redisNameresolutionAdapter } from "./redis-name-resolver";
import { redisPubsubAdapter } from "./redis-pubsub";
import { redisSequencerAdapter } from "./redis-sequencer";
import { redisStateAdapter } from "./redis-state-store";

/** Every adapter of this package, for the kernel's registry. */
export const redisAdapters: readonly CapabilityAdapterFactory[] = [
  redisStateAdapter,
  redisLockAdapter,
  redisSequencerAdapter,
  redisConfigurationAdapter,
  redisPubsubAdapter,
  redisNameresolutionAdapter,
];

export { redisStateAdapter, RedisStateStore } from "./redis-state-store";
export { redisLockAdapter, RedisLockStore } from "./redis-lock-store";
export { redisSequencerAdapter, RedisSequencer } from "./redis-sequencer";
export { redisConfigurationAdapter, RedisConfigurationStore } from "./redis-configuration-store";
export { redisPubsubAdapter, RedisPubsub, type RedisPubsubSettings } from "./redis-pubsub";
export { redisNameresolutionAdapter, RedisNameResolver, nameResolutionKey } from "./redis-name-resolver";
export { RedisConnection, type RedisConnectionMetadata } from "./redis-connection";
