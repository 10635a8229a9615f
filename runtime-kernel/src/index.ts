// The runtime kernel's public surface, for tests and embedding.
export { ConfigError } from "./config/config-error";
export { formatListenAddress, parseListenAddress, type ListenAddress } from "./config/listen-address";
export { loadConfig, parseConfigText } from "./config/load-config";
export type { AppConfig, ComponentConfig, RuntimeConfig } from "./config/runtime-config";
export { AdapterRegistry, createDefaultRegistry } from "./registry/adapter-registry";
export { buildComponents } from "./registry/build-components";
export { ComponentTable, type ComponentEntry } from "./registry/component-table";
export { resolveComponents, type ResolvedComponent } from "./registry/resolve-components";
export { ActuatorServer, type ActuatorSources } from "./server/actuator";
export { ApiServer, type ApiServerOptions } from "./server/api-server";
export { aggregateHealth, healthHttpStatus, type HealthReport, type HealthStatus } from "./server/health";
export { Runtime, runUntilSignalled, type RuntimeLog, type RuntimeOptions } from "./runtime";
