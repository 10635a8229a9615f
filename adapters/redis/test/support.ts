import type { AdapterContext, Component } from "@ottavo/component-runtime";
import { startRedis, type RedisServer, type RedisServerOptions } from "@ottavo/test-support";
import { Redis } from "ioredis";

/**
 * A redis-server of this test file's own, started before its tests and stopped
 * after them (also when they fail), plus a plain client to look at what the
 * adapters wrote. Every test starts from an empty database.
 */
export function useRedis(options: RedisServerOptions = {}): {
  server(): RedisServer;
  /** host:port metadata for an adapter (redisHost and redisPassword when the server has one). */
  metadata(extra?: Record<string, unknown>): Record<string, unknown>;
  raw(): Redis;
} {
  let server: RedisServer | undefined;
  let raw: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis(options);
    raw = new Redis({ host: server.host, port: server.port, password: options.password, lazyConnect: true });
    await raw.connect();
  });
  afterAll(async () => {
    raw?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    // A fault test may have restarted the server: the raw client reconnects by itself.
    await raw?.flushall();
  });
  return {
    server: () => server!,
    metadata: (extra = {}) => ({
      redisHost: `${server!.host}:${server!.port}`,
      ...(options.password === undefined ? {} : { redisPassword: options.password }),
      ...extra,
    }),
    raw: () => raw!,
  };
}

/** The context the kernel passes; settings vary per test. */
export function context(settings: Record<string, unknown> = {}): AdapterContext {
  return { componentName: "test_component", appId: "app1", configDir: "/tmp", settings };
}

/** Components opened by a test, closed after it so no connection outlives it. */
export function closer(): { track<C extends Component<string>>(component: C): C; closeAll(): Promise<void> } {
  const open: Component<string>[] = [];
  return {
    track(component) {
      open.push(component);
      return component;
    },
    async closeAll() {
      await Promise.all(open.splice(0).map((c) => c.close()));
    },
  };
}

export { eventually } from "@ottavo/test-support";

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);
