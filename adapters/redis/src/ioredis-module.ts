import type * as IoRedis from "ioredis";

/**
 * ioredis, loaded on first use: a runtime with no Redis component does not pay
 * for it at start (about a tenth of the runtime's start-up and several MB).
 */
export function ioredis(): typeof IoRedis {
  return require("ioredis") as typeof IoRedis;
}
