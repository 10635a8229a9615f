import { ComponentError } from "@ottavo/component-runtime";
import { ResolverUnavailableError, type Registration, type ResolveRequest } from "@ottavo/generated/components/nameresolution";
import {
  defineRedisNameresolutionAdapter,
  redisNameresolutionFeatures,
  type RedisNameresolution,
} from "@ottavo/generated/components/adapters/redis";
import { RedisConnection } from "./redis-connection";
import { RedisScript } from "./redis-script";

/**
 * Adds or refreshes one entry (ARGV[1] the address, ARGV[2] the ttl in ms) scored
 * with its expiry on Redis's clock, so runtimes whose clocks differ agree; drops
 * expired entries, and keeps the key itself alive as long as its latest entry.
 */
const registerScript = new RedisScript(
  "ottavoNameRegister",
  `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - now))
return 1
`,
);

/** The addresses whose entries have not expired, on Redis's clock. */
const resolveScript = new RedisScript(
  "ottavoNameResolve",
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`,
);

/** Where an app's runtimes are listed. */
export function nameResolutionKey(appId: string): string {
  return `ottavo|nameresolution|${appId}`;
}

/**
 * The "redis" name resolver: runtimes register themselves with a time to live
 * refreshed by heartbeats (every third of ttl), so a runtime that dies drops out
 * within ttl and one that stops drops out at once; lookups are cached briefly.
 */
export class RedisNameResolver implements RedisNameresolution {
  readonly features = new Set(redisNameresolutionFeatures);
  private readonly cache = new Map<string, { addresses: string[]; until: number }>();
  private readonly heartbeats = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly connection: RedisConnection,
    private readonly ttlMs: number,
    private readonly cacheTtlMs: number,
  ) {
    registerScript.define(connection.client);
    resolveScript.define(connection.client);
  }

  async resolve(request: ResolveRequest): Promise<string[]> {
    const now = performance.now();
    const cached = this.cache.get(request.appId);
    if (cached !== undefined && cached.until > now) return cached.addresses;
    const reply = await this.reach(() => resolveScript.run(this.connection.client, [nameResolutionKey(request.appId)], []));
    const addresses = (reply as string[]).map(String);
    if (this.cacheTtlMs > 0) this.cache.set(request.appId, { addresses, until: now + this.cacheTtlMs });
    return addresses;
  }

  async register(registration: Registration): Promise<void> {
    const entry = entryKey(registration);
    await this.refresh(registration);
    clearInterval(this.heartbeats.get(entry));
    // A heartbeat that fails (Redis briefly away) is simply sent again at the next beat.
    const beat = setInterval(() => void this.refresh(registration).catch(() => undefined), Math.max(1, Math.floor(this.ttlMs / 3)));
    beat.unref();
    this.heartbeats.set(entry, beat);
  }

  async unregister(registration: Registration): Promise<void> {
    const entry = entryKey(registration);
    clearInterval(this.heartbeats.get(entry));
    this.heartbeats.delete(entry);
    await this.reach(() => this.connection.client.zrem(nameResolutionKey(registration.appId), registration.address));
  }

  health(): Promise<void> {
    return this.connection.health();
  }

  async close(): Promise<void> {
    for (const beat of this.heartbeats.values()) clearInterval(beat);
    this.heartbeats.clear();
    await this.connection.close();
  }

  /**
   * One call to Redis. Redis out of reach (UNAVAILABLE) is the capability's declared
   * ResolverUnavailable, which callers (and the SDKs, by its ErrorInfo) tell apart
   * from an app no runtime registered; any other failure passes through.
   */
  private async reach<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await this.connection.call(run);
    } catch (error) {
      if (error instanceof ComponentError && error.status === "UNAVAILABLE") throw new ResolverUnavailableError(error.message, error);
      throw error;
    }
  }

  private async refresh(registration: Registration): Promise<void> {
    await this.reach(() =>
      registerScript.run(this.connection.client, [nameResolutionKey(registration.appId)], [registration.address, this.ttlMs]),
    );
  }
}

function entryKey(registration: Registration): string {
  return `${registration.appId}\u0000${registration.address}`;
}

/** The "redis" nameresolution adapter, as the registry holds it. */
export const redisNameresolutionAdapter = defineRedisNameresolutionAdapter(async (metadata, context) => {
  const connection = await RedisConnection.open(metadata, { componentName: context.componentName });
  return new RedisNameResolver(connection, Math.ceil(metadata.ttl), metadata.cacheTtl);
});
