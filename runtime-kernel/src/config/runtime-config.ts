import type { CapabilityKind } from "@ottavo/generated/components/registry";
import type { RawMetadata } from "@ottavo/component-runtime";
import type { ResiliencySpec } from "../resiliency/resiliency-spec";
import type { InvokeConfig } from "./invoke-config";
import type { CorsConfig } from "./cors-config";
import type { WasmConfig } from "./functions-config";
import type { ListenAddress } from "./listen-address";
import type { ApiSecurity } from "./api-security";
import type { ServerLimits } from "./server-limits";
import type { LoggingConfig, MetricsConfig, TracingConfig } from "./observability-config";

/** The runtime's configuration, whichever file format it was read from. */
export interface RuntimeConfig {
  /** The config file as the user named it; every message about the config starts with it. */
  readonly file: string;
  /** The folder of the config file: relative paths in metadata start here. */
  readonly configDir: string;
  readonly format: "layotto" | "ottavo";
  readonly app: AppConfig;
  /** Where the runtime API (gRPC, gRPC-Web, Connect) listens. */
  readonly api: ListenAddress;
  /** Cross-origin access to the API for browsers (Ottavo YAML's api.cors); absent means off. */
  readonly cors?: CorsConfig;
  /** Where the actuator (health, info) listens. */
  readonly actuator: ListenAddress;
  /** TLS on the API port and whether plaintext on a non-loopback address is allowed. */
  readonly apiSecurity: ApiSecurity;
  /** What one client may ask of the API server: sizes, counts and timeouts. */
  readonly limits: ServerLimits;
  /** In file order, per capability in file order. */
  readonly components: readonly ComponentConfig[];
  /** Service invocation targets (Ottavo's `invoke`, Layotto's `rpcs`). */
  readonly invoke: InvokeConfig;
  /** Timeouts, retries and circuit breakers per invocation target (Dapr's resiliency spec). */
  readonly resiliency: ResiliencySpec;
  /** OpenTelemetry tracing; absent means off. */
  readonly tracing?: TracingConfig;
  /** Prometheus metrics; absent means on. */
  readonly metrics?: MetricsConfig;
  /** The runtime's log level, format and access log. */
  readonly logging: LoggingConfig;
  /** WebAssembly functions and their HTTP trigger, when the file configures them. */
  readonly wasm?: WasmConfig;
  /** Lines about things the runtime ignores; printed on stderr, never fatal. */
  readonly warnings: readonly string[];
}

export interface AppConfig {
  /** The app this runtime serves; empty when the file names none (Layotto allows that). */
  readonly id: string;
  /** The app's own gRPC server (AppCallback), when it has one. */
  readonly callback?: { readonly host: string; readonly port: number };
  /** The app's HTTP server, where InvokeService calls for this app id are delivered. */
  readonly http?: { readonly host: string; readonly port: number };
}

/** One configured component, as the file gives it; validated against its adapter later. */
export interface ComponentConfig {
  readonly capability: CapabilityKind;
  readonly name: string;
  readonly type: string;
  readonly metadata: RawMetadata;
  /**
   * Keys beside type and metadata (Layotto's biggerThan, address, hello...). The
   * ones the adapter declares as metadata fields are folded into metadata at
   * validation; the rest reach the adapter as settings.
   */
  readonly extras: Readonly<Record<string, unknown>>;
}

export const defaultApiAddress: ListenAddress = { kind: "tcp", host: "127.0.0.1", port: 34904 };
export const defaultActuatorAddress: ListenAddress = { kind: "tcp", host: "127.0.0.1", port: 34999 };
export const defaultCallbackHost = "127.0.0.1";
