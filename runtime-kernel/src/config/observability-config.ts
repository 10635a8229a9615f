import { parseDuration } from "@ottavo/component-runtime";
import { isPlainObject } from "./component-entry";
import type { ConfigReport } from "./config-error";

/** OpenTelemetry tracing, exported as OTLP over HTTP; absent means off. */
export interface TracingConfig {
  /** Where spans are sent: an OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. */
  readonly endpoint: string;
  /** service.name of the spans; the app id by default (or "ottavo" when the config names none). */
  readonly serviceName: string | undefined;
  /** The share of traces started here that are recorded (0 to 1); a caller's sampled flag is followed. */
  readonly sampleRatio: number;
  /** How often recorded spans are sent. */
  readonly exportIntervalMs: number;
  /** Headers sent with every export (an API key of a hosted backend); never logged. */
  readonly headers: Readonly<Record<string, string>>;
}

export const logLevels = ["error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof logLevels)[number];

/** The runtime's own output. */
export interface LoggingConfig {
  /** The most verbose level written; info by default. */
  readonly level: LogLevel;
  /** text: the lines Ottavo always printed; json: one JSON object per line. */
  readonly format: "text" | "json";
  /** One line per API call (at info), off by default. */
  readonly accessLog: boolean;
}

/** The Prometheus metrics on the actuator's /metrics; on unless `enabled: false`. */
export interface MetricsConfig {
  readonly enabled: boolean;
}

export const defaultLogging: LoggingConfig = { level: "info", format: "text", accessLog: false };
const defaultExportIntervalMs = 5_000;
const tracingKeys = ["enabled", "endpoint", "serviceName", "sampleRatio", "exportInterval", "headers"];
const loggingKeys = ["level", "format", "accessLog"];
const metricsKeys = ["enabled"];

/**
 * The metrics section (Ottavo YAML's `metrics`, Layotto's `grpc_config.metrics`):
 * on by default; `enabled: false` leaves every call and component operation
 * unmeasured and /metrics unserved (404).
 *
 *   metrics:
 *     enabled: false
 */
export function readMetricsConfig(report: ConfigReport, key: string, value: unknown): MetricsConfig {
  if (value === undefined || value === null) return { enabled: true };
  if (!isPlainObject(value)) {
    report.problem(`'${key}' must be a map with ${metricsKeys.join(", ")}`);
    return { enabled: true };
  }
  for (const name of Object.keys(value)) {
    if (!metricsKeys.includes(name)) report.problem(`unknown key '${key}.${name}'; known: ${metricsKeys.join(", ")}`);
  }
  const { enabled = true } = value;
  if (typeof enabled !== "boolean") report.problem(`'${key}.enabled' must be true or false`);
  return { enabled: enabled !== false };
}

/**
 * The tracing section (Ottavo YAML's `tracing`, Layotto's `grpc_config.tracing`):
 *
 *   tracing:
 *     enabled: true                                   # off unless true
 *     endpoint: http://127.0.0.1:4318/v1/traces       # OTLP/HTTP (the collector's default port)
 *     serviceName: my-app                             # the app id by default
 *     sampleRatio: 1                                  # 0 to 1
 *     exportInterval: 5s
 *     headers: { x-api-key: ... }
 */
export function readTracingConfig(report: ConfigReport, key: string, value: unknown): TracingConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    report.problem(`'${key}' must be a map with ${tracingKeys.join(", ")}`);
    return undefined;
  }
  for (const name of Object.keys(value)) {
    if (!tracingKeys.includes(name)) report.problem(`unknown key '${key}.${name}'; known: ${tracingKeys.join(", ")}`);
  }
  const { enabled = false, endpoint = "http://127.0.0.1:4318/v1/traces", serviceName, sampleRatio = 1, exportInterval, headers = {} } = value;
  if (typeof enabled !== "boolean") report.problem(`'${key}.enabled' must be true or false`);
  if (typeof endpoint !== "string" || !/^https?:\/\/[^/]+/.test(endpoint)) {
    report.problem(`'${key}.endpoint' must be an http(s) URL such as http://127.0.0.1:4318/v1/traces`);
  }
  if (serviceName !== undefined && (typeof serviceName !== "string" || serviceName === "")) report.problem(`'${key}.serviceName' must be a non-empty string`);
  if (typeof sampleRatio !== "number" || !(sampleRatio >= 0 && sampleRatio <= 1)) report.problem(`'${key}.sampleRatio' must be a number from 0 to 1`);
  const intervalMs = exportInterval === undefined ? defaultExportIntervalMs : typeof exportInterval === "string" ? parseDuration(exportInterval) : undefined;
  if (intervalMs === undefined || intervalMs <= 0) report.problem(`'${key}.exportInterval' must be a duration such as 5s or 500ms`);
  if (!isPlainObject(headers) || !Object.values(headers).every((v) => typeof v === "string")) {
    report.problem(`'${key}.headers' must be a map of header names to strings`);
  }
  if (enabled !== true) return undefined;
  return {
    endpoint: String(endpoint),
    serviceName: typeof serviceName === "string" ? serviceName : undefined,
    sampleRatio: typeof sampleRatio === "number" ? sampleRatio : 1,
    exportIntervalMs: intervalMs ?? defaultExportIntervalMs,
    headers: isPlainObject(headers) ? (headers as Record<string, string>) : {},
  };
}

/**
 * The logging section (Ottavo YAML's `logging`, Layotto's `grpc_config.logging`);
 * the command line's -l/--log-level wins over its level:
 *
 *   logging:
 *     level: info          # error, warn, info, debug, trace
 *     format: json         # or text (the default)
 *     accessLog: true      # one line per API call
 */
export function readLoggingConfig(report: ConfigReport, key: string, value: unknown): LoggingConfig {
  if (value === undefined || value === null) return defaultLogging;
  if (!isPlainObject(value)) {
    report.problem(`'${key}' must be a map with ${loggingKeys.join(", ")}`);
    return defaultLogging;
  }
  for (const name of Object.keys(value)) {
    if (!loggingKeys.includes(name)) report.problem(`unknown key '${key}.${name}'; known: ${loggingKeys.join(", ")}`);
  }
  const { level = defaultLogging.level, format = defaultLogging.format, accessLog = defaultLogging.accessLog } = value;
  const known = parseLogLevel(level);
  if (known === undefined) report.problem(`'${key}.level' must be one of ${logLevels.join(", ")}`);
  if (format !== "text" && format !== "json") report.problem(`'${key}.format' must be text or json`);
  if (typeof accessLog !== "boolean") report.problem(`'${key}.accessLog' must be true or false`);
  return {
    level: known ?? defaultLogging.level,
    format: format === "json" ? "json" : "text",
    accessLog: accessLog === true,
  };
}

/** A level by name; Layotto's (MOSN's) names too: fatal and critical are error, warning is warn. */
export function parseLogLevel(value: unknown): LogLevel | undefined {
  if (typeof value !== "string") return undefined;
  const name = value.toLowerCase();
  if (name === "fatal" || name === "critical") return "error";
  if (name === "warning") return "warn";
  return (logLevels as readonly string[]).includes(name) ? (name as LogLevel) : undefined;
}
