import { parseDocument } from "yaml";
import { capabilityKinds, type CapabilityKind } from "@ottavo/generated/components/registry";
import { ConfigError, ConfigReport } from "./config-error";
import { isPlainObject, readComponentMap } from "./component-entry";
import { readCorsConfig } from "./cors-config";
import { readWasmSection } from "./functions-config";
import { readOttavoInvoke } from "./invoke-config";
import { readResiliency } from "./resiliency-config";
import { parseListenAddress, type ListenAddress } from "./listen-address";
import { readApiSecurity } from "./api-security";
import { readServerLimits } from "./server-limits";
import { readLoggingConfig, readMetricsConfig, readTracingConfig } from "./observability-config";
import {
  defaultActuatorAddress,
  defaultApiAddress,
  defaultCallbackHost,
  type AppConfig,
  type ComponentConfig,
  type RuntimeConfig,
} from "./runtime-config";

const topLevelKeys = ["app", "api", "actuator", "limits", "components", "invoke", "resiliency", "wasm", "tracing", "logging", "metrics"];

/**
 * Reads Ottavo's own YAML config:
 *
 *   app: { id: quickstart, callbackPort: 9999, callbackHost: 127.0.0.1, httpPort: 3000 }
 *   api: { address: 127.0.0.1:34904 }        # or unix:/path/to.sock; cors: see cors-config.ts; tls, insecure: api-security.ts
 *   actuator: { address: 127.0.0.1:34999 }
 *   limits: { maxReceiveMessageBytes: 4194304, idleTimeout: 5m }   # see server-limits.ts
 *   components:
 *     state:
 *       state_demo: { type: in-memory, metadata: {} }
 *   invoke:                                  # see invoke-config.ts
 *     targets: { HelloService:1.0: { url: http://127.0.0.1:8889 } }
 *   resiliency: { policies: ..., targets: { apps: ... } }   # Dapr's; see resiliency-config.ts
 *   tracing: { enabled: true, endpoint: http://127.0.0.1:4318/v1/traces }   # see observability-config.ts
 *   logging: { level: info, format: json, accessLog: true }
 *   metrics: { enabled: false }              # on by default
 *
 * It is our own format, so unknown keys are errors (a typo must not silently
 * drop a section), unlike Layotto's file where unknown keys are only warned about.
 */
export function parseOttavoConfig(text: string, file: string, configDir: string): RuntimeConfig {
  const report = new ConfigReport(file);
  const root = parseYaml(text, file) ?? {};
  if (!isPlainObject(root)) {
    report.problem(`expected a map with ${topLevelKeys.join(", ")}`);
    report.throwIfProblems();
  }
  const doc = root as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (!topLevelKeys.includes(key)) report.problem(`unknown top-level key '${key}'; known: ${topLevelKeys.join(", ")}`);
  }
  const app = readApp(report, doc.app);
  const { cors: corsSection, tls: tlsSection, insecure, ...apiSection } = isPlainObject(doc.api) ? doc.api : { cors: undefined };
  const apiSecurity = readApiSecurity(report, configDir, tlsSection, insecure);
  const api = readAddressSection(report, "api", isPlainObject(doc.api) ? apiSection : doc.api, defaultApiAddress);
  const cors = readCorsConfig(report, corsSection);
  const actuator = readAddressSection(report, "actuator", doc.actuator, defaultActuatorAddress);
  const limits = readServerLimits(report, "limits", doc.limits);

  const components: ComponentConfig[] = [];
  if (doc.components !== undefined && doc.components !== null) {
    if (!isPlainObject(doc.components)) {
      report.problem(`'components' must be a map of capabilities (${capabilityKinds.join(", ")})`);
    } else {
      for (const [key, value] of Object.entries(doc.components)) {
        if (!(capabilityKinds as readonly string[]).includes(key)) {
          report.problem(`unknown capability 'components.${key}'; known: ${capabilityKinds.join(", ")}`);
          continue;
        }
        components.push(...readComponentMap(report, key as CapabilityKind, `components.${key}`, value));
      }
    }
  }

  const invoke = readOttavoInvoke(report, doc.invoke);
  const resiliency = readResiliency(report, doc.resiliency);
  const wasm = readWasmSection(report, doc.wasm);
  const tracing = readTracingConfig(report, "tracing", doc.tracing);
  const logging = readLoggingConfig(report, "logging", doc.logging);
  const metrics = readMetricsConfig(report, "metrics", doc.metrics);
  report.throwIfProblems();
  return { file, configDir, format: "ottavo", app, api, ...(cors && { cors }), actuator, apiSecurity, limits, components, invoke, resiliency, wasm, ...(tracing && { tracing }), logging, metrics, warnings: report.warnings };
}

function readApp(report: ConfigReport, value: unknown): AppConfig {
  if (value === undefined || value === null) return { id: "" };
  if (!isPlainObject(value)) {
    report.problem("'app' must be a map with id (and optionally callbackPort, callbackHost, httpPort, httpHost)");
    return { id: "" };
  }
  const { id, callbackPort, callbackHost, httpPort, httpHost, ...unknown } = value;
  for (const key of Object.keys(unknown)) {
    report.problem(`unknown key 'app.${key}'; known: id, callbackPort, callbackHost, httpPort, httpHost`);
  }
  if (id !== undefined && id !== null && typeof id !== "string") report.problem("'app.id' must be a string");
  const appId = typeof id === "string" ? id : "";
  const callback = readAppPort(report, "callback", callbackPort, callbackHost);
  const http = readAppPort(report, "http", httpPort, httpHost);
  return { id: appId, ...(callback && { callback }), ...(http && { http }) };
}

/** One of the app's servers: `app.<kind>Port` and optionally `app.<kind>Host` (127.0.0.1 by default). */
function readAppPort(report: ConfigReport, kind: string, port: unknown, host: unknown): { host: string; port: number } | undefined {
  const ok = (p: unknown): p is number => Number.isInteger(p) && (p as number) > 0 && (p as number) <= 65535;
  if (port !== undefined && port !== null && !ok(port)) report.problem(`'app.${kind}Port' must be a port number (1-65535)`);
  if (host !== undefined && host !== null && typeof host !== "string") report.problem(`'app.${kind}Host' must be a string`);
  if (host !== undefined && port === undefined) report.problem(`'app.${kind}Host' is given without 'app.${kind}Port'`);
  if (!ok(port)) return undefined;
  return { host: typeof host === "string" && host !== "" ? host : defaultCallbackHost, port };
}

function readAddressSection(report: ConfigReport, key: string, value: unknown, fallback: ListenAddress): ListenAddress {
  if (value === undefined || value === null) return fallback;
  if (!isPlainObject(value)) {
    report.problem(`'${key}' must be a map with address`);
    return fallback;
  }
  const { address, ...unknown } = value;
  for (const other of Object.keys(unknown)) report.problem(`unknown key '${key}.${other}'; known: address`);
  if (address === undefined || address === null) return fallback;
  if (typeof address !== "string") {
    report.problem(`'${key}.address' must be a string such as 127.0.0.1:34904 or unix:/path/to.sock`);
    return fallback;
  }
  const parsed = parseListenAddress(address);
  if ("problem" in parsed) {
    report.problem(`'${key}.address' '${address}' ${parsed.problem}`);
    return fallback;
  }
  return parsed;
}

/** YAML with duplicate keys refused; the first error is reported as file:line:col. */
function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => {
        const at = error.linePos?.[0];
        const what = error.message.replace(/ at line \d+, column \d+[\s\S]*$/, "");
        return at ? `${file}:${at.line}:${at.col}: not valid YAML: ${what}` : `${file}: not valid YAML: ${what}`;
      }),
    );
  }
  try {
    // An alias bomb (aliases of aliases, a billion laughs) is refused by the yaml package's own count.
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError([`${file}: not valid YAML: ${(error as Error).message}`]);
  }
}
