import { ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createRuntimeClient, type RuntimeClient } from "@ottavo/generated/client/runtime-client";
import type { RedisServer, RunningRuntime } from "@ottavo/test-support";
import { Redis } from "ioredis";

/** The capabilities a test puts on Redis; the rest of the config is in-memory or absent. */
export type RedisCapability = "state" | "lock" | "sequencer" | "configuration";

export interface RedisConfigOptions {
  appId?: string;
  /** Which capabilities get a Redis component, named <capability>_redis; all four by default. */
  capabilities?: readonly RedisCapability[];
  /** Metadata every Redis component gets besides redisHost (timeouts, redisPassword ...). */
  metadata?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Ottavo YAML with Redis components on the test's own server, API and actuator
 * on free ports. Components are named `<capability>_redis`.
 */
export function redisConfig(redis: Pick<RedisServer, "host" | "port">, options: RedisConfigOptions = {}): string {
  const metadata = JSON.stringify({ redisHost: `${redis.host}:${redis.port}`, ...options.metadata });
  const capabilities = options.capabilities ?? ["state", "lock", "sequencer", "configuration"];
  const components = capabilities
    .map((capability) => `  ${capability}:\n    ${capability}_redis: { type: redis, metadata: ${metadata} }\n`)
    .join("");
  return `app: { id: ${options.appId ?? "redis-e2e"} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
${components}`;
}

/** The generated client over gRPC (HTTP/2), one connection per runtime. */
export function grpcClient(runtime: RunningRuntime): RuntimeClient {
  return createRuntimeClient(createGrpcTransport({ baseUrl: runtime.apiUrl }));
}

/** A health report as the actuator prints it. */
export interface HealthBody {
  status: string;
  components: Record<string, { status: string; details?: Record<string, string> }>;
}

/** GET an actuator path: HTTP status, the raw body, and the body as JSON. */
export async function actuatorGet(runtime: RunningRuntime, path: string): Promise<{ status: number; text: string; body: HealthBody }> {
  const response = await fetch(`${runtime.actuatorUrl}${path}`);
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as HealthBody };
}

/** Awaits a call expected to fail: its ConnectError and how long the call took. */
export async function failedCall(call: () => Promise<unknown>): Promise<{ error: ConnectError; ms: number }> {
  const started = Date.now();
  const outcome = await call().then(
    () => new Error("the call succeeded; expected it to fail"),
    (error: unknown) => error,
  );
  const ms = Date.now() - started;
  if (!(outcome instanceof ConnectError)) throw outcome;
  return { error: outcome, ms };
}

export { eventually } from "@ottavo/test-support";

export const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
export const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** The pid of the test's redis-server, from INFO server. */
export async function redisPid(server: RedisServer): Promise<number> {
  const raw = new Redis({ host: server.host, port: server.port, lazyConnect: true });
  try {
    await raw.connect();
    const info = await raw.info("server");
    const match = /process_id:(\d+)/.exec(info);
    if (match === null) throw new Error(`INFO server gave no process_id:\n${info}`);
    return Number(match[1]);
  } finally {
    raw.disconnect();
  }
}
