import { isPlainObject } from "./component-entry";
import type { ConfigReport } from "./config-error";

/** Cross-origin access to the API, as the config gives it (`api.cors`); absent means off. */
export interface CorsConfig {
  /** Origins allowed to call, e.g. "https://app.example.com"; "*" for any; "https://*.example.com" for subdomains. */
  readonly allowedOrigins: readonly string[];
  /** Request headers a browser may send, beside the ones Connect and gRPC-Web clients always send. */
  readonly allowedHeaders: readonly string[];
  /** Response headers scripts may read, beside the status headers of gRPC-Web and Connect. */
  readonly exposedHeaders: readonly string[];
  /** How long a browser may cache a preflight answer, in seconds. */
  readonly maxAgeSeconds: number;
  /** Whether calls may carry cookies and HTTP auth (then "*" answers with the caller's own origin). */
  readonly allowCredentials: boolean;
}

const corsKeys = ["allowedOrigins", "allowedHeaders", "exposedHeaders", "maxAge", "allowCredentials"];
/** Ten minutes: Chromium's own cap on preflight caching is two hours. */
const defaultMaxAgeSeconds = 600;

/**
 * `api.cors` of Ottavo's YAML; absent means no cross-origin access:
 *
 *   api:
 *     cors:
 *       allowedOrigins: [https://app.example.com, "https://*.example.com"]   # or ["*"]
 *       allowedHeaders: [authorization]      # beside what Connect and gRPC-Web clients send
 *       exposedHeaders: [x-request-id]       # beside grpc-status, grpc-message, ...
 *       maxAge: 600                          # seconds a browser may cache a preflight
 *       allowCredentials: false
 */
export function readCorsConfig(report: ConfigReport, value: unknown): CorsConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    report.problem(`'api.cors' must be a map with ${corsKeys.join(", ")}`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!corsKeys.includes(key)) report.problem(`unknown key 'api.cors.${key}'; known: ${corsKeys.join(", ")}`);
  }
  const list = (key: string): string[] => {
    const given = value[key];
    if (given === undefined || given === null) return [];
    if (!Array.isArray(given) || !given.every((item) => typeof item === "string" && item !== "")) {
      report.problem(`'api.cors.${key}' must be a list of non-empty strings`);
      return [];
    }
    return given as string[];
  };
  const allowedOrigins = list("allowedOrigins");
  if (allowedOrigins.length === 0) report.problem(`'api.cors.allowedOrigins' must name at least one origin (or "*")`);
  for (const origin of allowedOrigins) {
    if (origin !== "*" && !/^https?:\/\/(\*\.)?[^/*]+$/.test(origin)) {
      report.problem(`'api.cors.allowedOrigins' entry '${origin}' is not an origin such as https://app.example.com, https://*.example.com or *`);
    }
  }
  const maxAge = value.maxAge ?? defaultMaxAgeSeconds;
  if (!Number.isInteger(maxAge) || (maxAge as number) < 0) report.problem(`'api.cors.maxAge' must be whole seconds (0 or more)`);
  const allowCredentials = value.allowCredentials ?? false;
  if (typeof allowCredentials !== "boolean") report.problem(`'api.cors.allowCredentials' must be true or false`);
  return {
    allowedOrigins,
    allowedHeaders: list("allowedHeaders"),
    exposedHeaders: list("exposedHeaders"),
    maxAgeSeconds: Number.isInteger(maxAge) ? (maxAge as number) : defaultMaxAgeSeconds,
    allowCredentials: allowCredentials === true,
  };
}
