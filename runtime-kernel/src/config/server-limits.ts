import { parseDuration } from "@ottavo/component-runtime";
import { isPlainObject } from "./component-entry";
import type { ConfigReport } from "./config-error";

/**
 * What one client may ask of the API server. Every limit has a safe default and
 * is set in the config's `limits` section (Ottavo YAML; `grpc_config.limits` in
 * Layotto's config.json); the README's "Limits and security" lists them.
 */
export interface ServerLimits {
  /** The largest request message, in bytes, on every protocol, compressed or not (after decompression): RESOURCE_EXHAUSTED beyond. */
  readonly maxReceiveMessageBytes: number;
  /** Items of one bulk call (GetBulkState keys, SaveState and DeleteBulkState states, configuration keys and items). */
  readonly maxBulkItems: number;
  /** Operations of one ExecuteStateTransaction. */
  readonly maxTransactionOperations: number;
  /** Entries of all metadata maps of one request together. */
  readonly maxMetadataEntries: number;
  /** Request headers (HTTP/1.1) or header list (HTTP/2), in bytes. */
  readonly maxHeaderBytes: number;
  /** Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Connections open at once from one client address. */
  readonly maxConnectionsPerClient: number;
  /** Long-lived streaming calls (subscriptions, file downloads) open at once on the server. */
  readonly maxSubscriptionStreams: number;
  /**
   * Responses one subscription stream may hold for a client that stopped reading;
   * one more closes the stream with RESOURCE_EXHAUSTED and drops them (see AsyncQueue).
   */
  readonly maxQueuedStreamResponses: number;
  /** How long a client may take to send a request's headers. */
  readonly headersTimeoutMs: number;
  /** A connection with no call in progress is closed after this long. */
  readonly idleTimeoutMs: number;
  /** HTTP/2 connections are pinged this often; a connection that stopped answering is closed. */
  readonly keepAliveTimeMs: number;
  /** How long a ping's answer may take before the connection is closed. */
  readonly keepAliveTimeoutMs: number;
}

export const defaultServerLimits: ServerLimits = {
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  maxBulkItems: 10_000,
  maxTransactionOperations: 10_000,
  maxMetadataEntries: 1_000,
  maxHeaderBytes: 16 * 1024,
  maxConcurrentStreams: 250,
  maxConnectionsPerClient: 512,
  maxSubscriptionStreams: 1_000,
  maxQueuedStreamResponses: 1_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  keepAliveTimeMs: 30_000,
  keepAliveTimeoutMs: 10_000,
};

/** The config keys: counts and sizes are integers, timeouts durations ("10s", "5m", or milliseconds). */
const countKeys = {
  maxReceiveMessageBytes: "maxReceiveMessageBytes",
  maxBulkItems: "maxBulkItems",
  maxTransactionOperations: "maxTransactionOperations",
  maxMetadataEntries: "maxMetadataEntries",
  maxHeaderBytes: "maxHeaderBytes",
  maxConcurrentStreams: "maxConcurrentStreams",
  maxConnectionsPerClient: "maxConnectionsPerClient",
  maxSubscriptionStreams: "maxSubscriptionStreams",
  maxQueuedStreamResponses: "maxQueuedStreamResponses",
} as const satisfies Record<string, keyof ServerLimits>;

const durationKeys = {
  headersTimeout: "headersTimeoutMs",
  idleTimeout: "idleTimeoutMs",
  keepAliveTime: "keepAliveTimeMs",
  keepAliveTimeout: "keepAliveTimeoutMs",
} as const satisfies Record<string, keyof ServerLimits>;

/** Node's http2 refuses a larger maxHeaderListSize or maxConcurrentStreams; 2^32-1 is the protocol's own ceiling. */
const largestCount = 2 ** 32 - 1;
/** The largest message Connect-ES can be told to accept (its readMaxBytes ceiling). */
const largestMessageBytes = 0xffffffff;
/** Timers beyond 2^31-1 ms fire at once in Node. */
const largestDurationMs = 2 ** 31 - 1;

/** Reads the `limits` section (`where` names it in messages); missing keys keep their defaults, unknown keys are problems. */
export function readServerLimits(report: ConfigReport, where: string, value: unknown): ServerLimits {
  if (value === undefined || value === null) return defaultServerLimits;
  if (!isPlainObject(value)) {
    report.problem(`'${where}' must be a map of limits, e.g. { maxReceiveMessageBytes: 4194304 }`);
    return defaultServerLimits;
  }
  const limits: Record<string, number> = { ...defaultServerLimits };
  const known = [...Object.keys(countKeys), ...Object.keys(durationKeys)];
  for (const [key, raw] of Object.entries(value)) {
    if (key in countKeys) {
      const ok = typeof raw === "number" && Number.isSafeInteger(raw) && raw > 0;
      const ceiling = key === "maxReceiveMessageBytes" ? largestMessageBytes : largestCount;
      if (!ok || raw > ceiling) {
        report.problem(`'${where}.${key}' must be a whole number from 1 to ${ceiling}, not ${JSON.stringify(raw)}`);
      } else {
        limits[countKeys[key as keyof typeof countKeys]] = raw;
      }
    } else if (key in durationKeys) {
      const ms = typeof raw === "number" ? raw : typeof raw === "string" ? parseDuration(raw) : undefined;
      if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > largestDurationMs) {
        report.problem(`'${where}.${key}' must be a positive duration such as "10s", "500ms" or "5m", not ${JSON.stringify(raw)}`);
      } else {
        limits[durationKeys[key as keyof typeof durationKeys]] = Math.ceil(ms);
      }
    } else {
      report.problem(`unknown key '${where}.${key}'; known: ${known.join(", ")}`);
    }
  }
  return limits as unknown as ServerLimits;
}
