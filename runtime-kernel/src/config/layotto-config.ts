import type { CapabilityKind } from "@ottavo/generated/components/registry";
import { ConfigError, ConfigReport } from "./config-error";
import { isPlainObject, readComponentMap } from "./component-entry";
import { findDuplicateKeys } from "./json-duplicate-keys";
import { emptyResiliency } from "../resiliency/resiliency-spec";
import { readLayottoWasm } from "./functions-config";
import { readLayottoRpcs } from "./invoke-config";
import { parseListenAddress, type ListenAddress } from "./listen-address";
import { readLayottoTls } from "./api-security";
import { readServerLimits } from "./server-limits";
import { readLoggingConfig, readMetricsConfig, readTracingConfig } from "./observability-config";
import {
  defaultActuatorAddress,
  defaultCallbackHost,
  type AppConfig,
  type ComponentConfig,
  type RuntimeConfig,
} from "./runtime-config";

/** The grpc_config keys that hold components, and the capability each one configures. */
const layottoCapabilityKeys: Readonly<Record<string, CapabilityKind>> = {
  hellos: "hello",
  state: "state",
  lock: "lock",
  sequencer: "sequencer",
  config_store: "configuration",
  pub_subs: "pubsub",
  file: "file",
  bindings: "binding",
  secret_store: "secret",
};

/** Layotto keys beside type and metadata that Ottavo does not act on yet. */
const unsupportedComponentKeys = ["secret_ref", "component_ref"];

/**
 * Reads Layotto's MOSN config.json as it is: `servers[0].listeners[]`, where the
 * listener with a grpc filter whose server_name is "runtime" gives the API address
 * and the components, and the listener named "actuator" gives the actuator address.
 * MOSN's own settings (routers, tracing, metrics, pprof...) are not the runtime's
 * business and are left alone.
 */
export function parseLayottoConfig(text: string, file: string, configDir: string): RuntimeConfig {
  const report = new ConfigReport(file);
  const root = parseJson(text, file);
  const servers = isPlainObject(root) ? root.servers : undefined;
  const server = Array.isArray(servers) ? servers[0] : undefined;
  const listeners = isPlainObject(server) ? server.listeners : undefined;
  if (!Array.isArray(listeners)) {
    report.problem("not a Layotto config: expected servers[0].listeners[] (a MOSN config file)");
    report.throwIfProblems();
  }
  const listenerList = (listeners as unknown[]).filter(isPlainObject);

  const runtimeListeners = listenerList
    .map((listener, index) => ({ listener, index, grpcConfig: runtimeGrpcConfig(listener) }))
    .filter((found) => found.grpcConfig !== undefined);
  if (runtimeListeners.length === 0) {
    report.problem(
      `no listener in servers[0].listeners has a filter {"type": "grpc", "config": {"server_name": "runtime"}}`,
    );
    report.throwIfProblems();
  }
  for (const extra of runtimeListeners.slice(1)) {
    report.warning(`servers[0].listeners[${extra.index}] is a second runtime grpc listener; only the first is served`);
  }
  const { listener, index, grpcConfig } = runtimeListeners[0];
  const api = listenerAddress(report, listener, `servers[0].listeners[${index}]`);
  const tls = readLayottoTls(report, configDir, listener, `servers[0].listeners[${index}]`);

  const actuatorIndex = listenerList.findIndex((l) => l.name === "actuator");
  const actuator =
    actuatorIndex >= 0
      ? listenerAddress(report, listenerList[actuatorIndex], `servers[0].listeners[${actuatorIndex}] (actuator)`)
      : defaultActuatorAddress;

  const config = isPlainObject(grpcConfig) ? grpcConfig : {};
  const app = readApp(report, config.app);
  const components: ComponentConfig[] = [];
  // Not Layotto's: Ottavo's server limits, read where the rest of the runtime's settings are.
  const limits = readServerLimits(report, "grpc_config.limits", config.limits);
  if (config.insecure !== undefined && typeof config.insecure !== "boolean") report.problem("grpc_config.insecure must be true or false");
  const apiSecurity = { ...(tls && { tls }), insecure: config.insecure === true };
  // Not Layotto's either: Ottavo's tracing, logging and metrics sections, beside limits.
  const tracing = readTracingConfig(report, "grpc_config.tracing", config.tracing);
  const logging = readLoggingConfig(report, "grpc_config.logging", config.logging);
  const metrics = readMetricsConfig(report, "grpc_config.metrics", config.metrics);
  for (const [key, value] of Object.entries(config)) {
    if (key === "app" || key === "rpcs" || key === "limits" || key === "insecure" || key === "tracing" || key === "logging" || key === "metrics") continue;
    const capability = layottoCapabilityKeys[key];
    if (capability === undefined) {
      report.warning(`grpc_config key '${key}' is not supported yet; ignored`);
      continue;
    }
    components.push(...readComponentMap(report, capability, `grpc_config.${key}`, value));
  }
  for (const component of components) {
    for (const key of unsupportedComponentKeys) {
      if (key in component.extras) {
        report.warning(
          `${component.capability} component '${component.name}' (type '${component.type}'): '${key}' is not supported yet; ignored`,
        );
      }
    }
  }

  const invoke = readLayottoRpcs(report, config.rpcs, root as Record<string, unknown>);

  const wasm = readLayottoWasm(report, listenerList);
  report.throwIfProblems();
  // Both addresses are set here: a missing or bad one was a problem, thrown above.
  return {
    file,
    configDir,
    format: "layotto",
    app,
    api: api!,
    actuator: actuator!,
    apiSecurity,
    limits,
    components,
    invoke,
    resiliency: emptyResiliency,
    wasm,
    ...(tracing && { tracing }),
    logging,
    metrics,
    warnings: report.warnings,
  };
}

/** The grpc_config of a listener that serves the runtime API, or undefined. */
function runtimeGrpcConfig(listener: Record<string, unknown>): unknown {
  const chains = Array.isArray(listener.filter_chains) ? listener.filter_chains : [];
  for (const chain of chains) {
    const filters = isPlainObject(chain) && Array.isArray(chain.filters) ? chain.filters : [];
    for (const filter of filters) {
      if (!isPlainObject(filter) || filter.type !== "grpc" || !isPlainObject(filter.config)) continue;
      if (filter.config.server_name === "runtime") return filter.config.grpc_config ?? {};
    }
  }
  return undefined;
}

/** MOSN writes Unix sockets as a bare path with "network": "unix". */
function listenerAddress(report: ConfigReport, listener: Record<string, unknown>, where: string): ListenAddress | undefined {
  const { address, network } = listener;
  if (typeof address !== "string" || address === "") {
    report.problem(`${where}: missing 'address'`);
    return undefined;
  }
  const parsed = parseListenAddress(network === "unix" && !address.startsWith("unix:") ? `unix:${address}` : address);
  if ("problem" in parsed) {
    report.problem(`${where}: address '${address}' ${parsed.problem}`);
    return undefined;
  }
  return parsed;
}

function readApp(report: ConfigReport, value: unknown): AppConfig {
  if (value === undefined || value === null) return { id: "" };
  if (!isPlainObject(value)) {
    report.problem("grpc_config.app must be a map with app_id");
    return { id: "" };
  }
  const { app_id: id, grpc_callback_port: port, grpc_callback_host: host } = value;
  if (id !== undefined && typeof id !== "string") report.problem("grpc_config.app.app_id must be a string");
  if (port !== undefined && port !== 0 && !(Number.isInteger(port) && (port as number) > 0 && (port as number) <= 65535)) {
    report.problem("grpc_config.app.grpc_callback_port must be a port number (1-65535)");
  }
  if (host !== undefined && typeof host !== "string") report.problem("grpc_config.app.grpc_callback_host must be a string");
  const appId = typeof id === "string" ? id : "";
  // Layotto treats port 0 (or none) as "the app has no callback server".
  if (typeof port !== "number" || port === 0) return { id: appId };
  return { id: appId, callback: { host: typeof host === "string" && host !== "" ? host : defaultCallbackHost, port } };
}

/** JSON.parse with the error position turned into file:line:col. */
function parseJson(text: string, file: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const at = /\s*(?:in JSON )?at position (\d+)/.exec(message);
    if (!at) throw new ConfigError([`${file}: not valid JSON: ${message}`]);
    const before = text.slice(0, Number(at[1]));
    const line = before.split("\n").length;
    const col = Number(at[1]) - before.lastIndexOf("\n");
    const what = message.slice(0, at.index).replace(/ in JSON$/, "");
    throw new ConfigError([`${file}:${line}:${col}: not valid JSON: ${what}`]);
  }
  const duplicates = findDuplicateKeys(text);
  if (duplicates.length > 0) {
    throw new ConfigError(
      duplicates.map(({ key, path, line, col }) => {
        const where = path.includes("grpc_config") ? path.slice(path.indexOf("grpc_config")) : path === "" ? "the top level" : path;
        return `${file}:${line}:${col}: duplicate key '${key}' in ${where}; each name may appear once (JSON would keep only the last)`;
      }),
    );
  }
  return parsed;
}
