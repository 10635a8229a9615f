import { Runtime as RuntimeService } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { codecs } from "@ottavo/generated/codecs/index";
import { runtimeServiceImpl } from "@ottavo/generated/server/runtime-handlers";
import { runtimeUnaryDispatch } from "@ottavo/generated/server/unary-dispatch";
import { ConfigError } from "./config/config-error";
import { formatListenAddress, type ListenAddress } from "./config/listen-address";
import { loadConfig } from "./config/load-config";
import type { RuntimeConfig } from "./config/runtime-config";
import { AppDelivery, appCallbackTarget, type DeliveryOptions } from "./delivery/delivery";
import { createRuntimeHandlerGroups } from "./handlers";
import { kernelSettingsHooks } from "./handlers/sequencer-floors";
import { advertisedAddress, createInvocation, type Invocation } from "./invoke/invocation-setup";
import type { InvocationTargets } from "./invoke/invocation-targets";
import { createDefaultRegistry, type AdapterRegistry } from "./registry/adapter-registry";
import { buildComponents, closeAll } from "./registry/build-components";
import { ComponentTable } from "./registry/component-table";
import { resolveComponents } from "./registry/resolve-components";
import { ActuatorServer } from "./server/actuator";
import { withComponentMetrics } from "./observability/component-metrics";
import { withComponentResiliency } from "./resiliency/component-resiliency";
import { Resiliency } from "./resiliency/resiliency";
import { RuntimeMetrics } from "./observability/metrics";
import { accessLogStep } from "./observability/access-log";
import type { LogFields } from "./observability/logger";
import { startTracing, type Tracing } from "./observability/tracing";
import type { LogLevel, LoggingConfig } from "./config/observability-config";
import type { MetadataFieldSpec, RawMetadata } from "@ottavo/component-runtime";
import { ApiServer } from "./server/api-server";
import { apiTokenStep } from "./server/auth";
import { Pipeline } from "./server/pipeline";
import { checkExposure } from "./config/api-security";
import { registerHealth } from "./server/health/health-service";
import { registerReflection } from "./server/reflection/reflection-service";
import { withRequestLimits } from "./server/request-limits";
import { readAppInfo } from "./server/app-info";
import {
  aggregateHealth,
  checkComponents,
  runtimeStartupHealth,
  type HealthReport,
  type RuntimePhase,
} from "./server/health";
import { ListenError } from "./server/listen";
import { functionAdmin } from "./wasm/function-admin";
import type { FunctionHost } from "./wasm/function-host";
import { startFunctions, type RunningFunctions } from "./wasm/functions-runtime";

/**
 * Where the runtime writes: lifecycle lines to info (stdout), warnings and errors
 * to stderr; observability/logger.ts's Logger adds levels, JSON and configure().
 */
export interface RuntimeLog {
  info(line: string, fields?: LogFields): void;
  warn(line: string): void;
  error(line: string): void;
  debug?(line: string): void;
  /** Takes the config's logging settings once the config is read. */
  configure?(settings: Pick<LoggingConfig, "level" | "format">): void;
  /** Whether lines at this level are written (all are when absent). */
  enabled?(level: LogLevel): boolean;
  /** Lines not written because the log's reader fell behind (ottavo_log_lines_dropped_total). */
  droppedLines?(): number;
}

export interface RuntimeOptions {
  /** The config file as the user named it. */
  readonly configFile: string;
  /** Required on every API call when set (dapr-api-token header); OTTAVO_API_TOKEN by default. */
  readonly apiToken?: string;
  /** How long in-flight calls may take to finish once shutdown begins. */
  readonly shutdownTimeoutMs: number;
  /** How long one component's health check may take before readiness calls it DOWN. */
  readonly healthTimeoutMs?: number;
  readonly log: RuntimeLog;
  /** The adapters to build from; every adapter this build ships by default. */
  readonly registry?: AdapterRegistry;
  /** Pub/sub delivery to the app's AppCallback server: the OnTopicEvent deadline (60 s by default) and retries. */
  readonly delivery?: Partial<DeliveryOptions>;
  /** The command line's -l/--log-level: wins over the config's logging.level. */
  readonly logLevel?: LogLevel;
}

export const defaultShutdownTimeoutMs = 10_000;
const defaultHealthTimeoutMs = 1_000;

/**
 * One running Ottavo: staged start (config, actuator, components, handlers,
 * API server, then pub/sub delivery to the app), then serving until shutdown().
 * The actuator starts before the components so that readiness says INIT while
 * they are being created. Delivery runs in the background once the API serves:
 * the app may start after the runtime, and readiness does not wait for it.
 */
export class Runtime {
  private phase: RuntimePhase = "starting";
  private table: ComponentTable | undefined;
  private api: ApiServer | undefined;
  private delivery: AppDelivery | undefined;
  /** The inbound resiliency policies (targets.components.<pubsub>.inbound), when any is configured. */
  private inbound: Resiliency | undefined;
  private functions: RunningFunctions | undefined;
  private invocation: Invocation | undefined;
  private stopping: Promise<{ drained: boolean }> | undefined;

  private constructor(
    private readonly options: RuntimeOptions,
    readonly config: RuntimeConfig,
    private readonly actuator: ActuatorServer,
    private readonly metrics: RuntimeMetrics | undefined,
    private readonly tracing: Tracing | undefined,
  ) {}

  /** Starts every stage; throws a ConfigError (lines naming the file) when the config or a listen address is unusable. */
  static async start(options: RuntimeOptions): Promise<Runtime> {
    const { log } = options;
    const config = await loadConfig(options.configFile);
    log.configure?.({ level: options.logLevel ?? config.logging.level, format: config.logging.format });
    config.warnings.forEach((line) => log.warn(line));
    const apiToken = options.apiToken ?? (process.env.OTTAVO_API_TOKEN || undefined);
    const exposure = checkExposure(config.file, config.api, config.apiSecurity, apiToken !== undefined);
    if (exposure !== undefined) log.warn(exposure);
    const registry = options.registry ?? createDefaultRegistry();
    const resolved = resolveComponents(config, registry);
    resolved.warnings.forEach((line) => log.warn(line));
    if (log.debug && log.enabled?.("debug") !== false) {
      for (const { config: component, factory, metadata } of resolved.components) {
        log.debug(`${component.capability} component '${component.name}' (type '${component.type}'), metadata ${shownMetadata(metadata, factory.metadata)}`);
      }
    }

    let runtime: Runtime | undefined;
    const info = readAppInfo();
    const metrics = config.metrics?.enabled === false ? undefined : new RuntimeMetrics(() => log.droppedLines?.() ?? 0);
    const actuator = await listenOrExplain(config, "the actuator", config.actuator, () =>
      ActuatorServer.start(config.actuator, {
        liveness: async () => runtime?.liveness() ?? aggregateHealth({ runtime_startup: runtimeStartupHealth("starting") }),
        readiness: async () => runtime?.readiness() ?? aggregateHealth({ runtime_startup: runtimeStartupHealth("starting") }),
        info: () => info,
        token: apiToken,
        ...(metrics && { metrics: () => metrics.exposition() }),
        extra: (request, authorized) => functionAdmin(runtime?.functionHost, request, authorized),
      }),
    );
    let tracing: Tracing | undefined;
    try {
      if (config.tracing) {
        tracing = await startTracing(config.tracing, {
          serviceName: config.tracing.serviceName ?? (config.app.id || "ottavo"),
          warn: (line) => log.warn(line),
          ...(metrics && { counters: metrics.spanExportCounters() }),
        });
        log.debug?.(`tracing on: OTLP/HTTP to ${config.tracing.endpoint}, sample ratio ${config.tracing.sampleRatio}`);
      }
    } catch (error) {
      await actuator.close();
      throw error;
    }
    runtime = new Runtime({ ...options, apiToken }, config, actuator, metrics, tracing);
    try {
      await runtime.startServing(resolved.components);
    } catch (error) {
      await runtime.closeComponents();
      await actuator.close();
      await tracing?.shutdown();
      throw error;
    }
    return runtime;
  }

  private async startServing(components: Parameters<typeof buildComponents>[0]): Promise<void> {
    const config = this.config;
    const built = await buildComponents(components, {
      appId: config.app.id,
      configDir: config.configDir,
      file: config.file,
      settingsHooks: kernelSettingsHooks,
    });
    // Metrics inside the policies: each attempt is measured, as Dapr counts them.
    const measured = this.metrics || this.tracing ? withComponentMetrics(built, this.metrics, this.tracing !== undefined) : built;
    this.table = measured;
    const resiliency = new Resiliency(config.resiliency);
    if (config.resiliency.components.size > 0) {
      const guarded = withComponentResiliency(measured.all(), resiliency, config.resiliency.components.keys());
      for (const name of guarded.unknown) {
        this.options.log.warn(`ottavo: warning: resiliency targets.components.${name} names no component; its policies apply to nothing`);
      }
      this.table = new ComponentTable(measured.appId);
      for (const entry of guarded.entries) this.table.add(entry);
    }
    for (const name of config.resiliency.inbound.keys()) {
      // Deliveries to the app come from pubsubs only (Ottavo has no input bindings).
      if (measured.get("pubsub", name) === undefined) {
        this.options.log.warn(`ottavo: warning: resiliency targets.components.${name}.inbound names no pubsub; its policies apply to nothing`);
      }
    }
    this.inbound = config.resiliency.inbound.size > 0 ? resiliency : undefined;
    this.invocation = createInvocation(config.invoke, config.app, this.table, config.resiliency);
    const handlers = runtimeServiceImpl(createRuntimeHandlerGroups(this.table, this.invocation.invoker, this.invocation.token, this.config.limits.maxQueuedStreamResponses));
    const impl = withRequestLimits(RuntimeService, handlers, config.limits);
    // The steps that observe a call; the API adds the token step, the functions' host calls do not.
    const observing = [
      ...(this.metrics ? [this.metrics.rpcStep] : []),
      ...(this.tracing ? [this.tracing.rpcStep] : []),
      ...(config.logging.accessLog && this.options.log.enabled?.("info") !== false ? [accessLogStep(this.options.log, this.tracing !== undefined)] : []),
    ];
    this.api = await listenOrExplain(config, "the API", config.api, () =>
      ApiServer.start({
        address: config.api,
        limits: config.limits,
        routes: (router) => {
          router.service(RuntimeService, impl);
          registerHealth(router, { readiness: () => this.readiness() });
          registerReflection(router);
        },
        fastPath: { routes: runtimeUnaryDispatch(impl), codecs },
        cors: config.cors,
        tls: config.apiSecurity.tls,
        onTlsReloadError: (error) => this.options.log.warn(`ottavo: warning: the API's TLS files changed but cannot be loaded (${describe(error)}); still using the previous ones`),
        // Metrics, tracing and the access log first: a call the token step refuses is still counted, traced and logged, with its code.
        pipeline: new Pipeline([...observing, ...(this.options.apiToken === undefined ? [] : [apiTokenStep(this.options.apiToken)])]),
      }),
    );
    const table = this.table;
    const invocation = this.invocation;
    try {
      this.functions = await listenOrExplain(config, "the function trigger", config.wasm?.address ?? config.api, () =>
        startFunctions({
          config,
          table,
          // Functions get handler groups of their own, wired as the API's are.
          handlersOver: (over) => createRuntimeHandlerGroups(over, invocation.invoker, invocation.token, config.limits.maxQueuedStreamResponses),
          targets: invocation.invoker.targets,
          log: (line) => this.options.log.info(line),
          warn: (line) => this.options.log.warn(line),
          // Host calls pass the API's steps but the token's: they come from modules this runtime loaded, in the process.
          pipeline: new Pipeline(observing),
          resiliency: this.inbound,
        }),
      );
    } catch (error) {
      await this.api.shutdown(0);
      throw error;
    }
    this.phase = "serving";
    // Other runtimes find this app once the API answers, not before.
    if (this.invocation.nameResolution.registers) {
      const { address, warning } = advertisedAddress(this.api.address, config.invoke.advertiseAddress);
      if (warning !== undefined) this.options.log.warn(`ottavo: warning: ${warning}`);
      if (address !== undefined) {
        for (const line of await this.invocation.nameResolution.registerSelf(address)) this.options.log.warn(line);
      }
    }
    const callback = appCallbackTarget(config, this.table);
    if (callback !== undefined) {
      this.delivery = AppDelivery.start({
        table: this.table,
        callback,
        log: this.options.log,
        options: this.options.delivery,
        tracing: this.tracing,
        resiliency: this.inbound,
      });
    }
  }

  /** Where the API listens (the real port when the config said 0). */
  get apiAddress(): ListenAddress {
    return this.api!.address;
  }

  get actuatorAddress(): ListenAddress {
    return this.actuator.address;
  }

  /** Delivery to the app's AppCallback server, when the config names a callback port and a pubsub exists. */
  get appDelivery(): AppDelivery | undefined {
    return this.delivery;
  }

  /**
   * What InvokeService can call, by id. Other engines register their callables
   * here once the runtime serves (wasm functions: see InvocationTargets).
   */
  get invocationTargets(): InvocationTargets {
    return this.invocation!.invoker.targets;
  }

  /** The WebAssembly functions (install, update, uninstall, call). */
  get functionHost(): FunctionHost | undefined {
    return this.functions?.host;
  }

  /** Where the functions' HTTP trigger listens, when the config has a wasm section. */
  get functionAddress(): ListenAddress | undefined {
    return this.functions?.trigger?.address;
  }

  get componentCount(): number {
    return this.table?.all().length ?? 0;
  }

  /** The one line printed once the runtime serves. */
  readyLine(): string {
    const count = this.componentCount;
    return (
      `ottavo: serving the API on ${formatListenAddress(this.apiAddress)} ` +
      `and the actuator on ${formatListenAddress(this.actuatorAddress)} ` +
      `(${count} component${count === 1 ? "" : "s"})`
    );
  }

  /** Alive while the process runs and serves; a drain is still alive, so probes do not kill it mid-way. */
  liveness(): HealthReport {
    const phase = this.phase === "shutting-down" ? "serving" : this.phase;
    return aggregateHealth({ runtime_startup: runtimeStartupHealth(phase) });
  }

  /** Ready while serving and every component's backend answers. */
  async readiness(): Promise<HealthReport> {
    const components =
      this.phase === "serving" && this.table
        ? await checkComponents(
            this.table.all().map(({ capability, name, component }) => ({
              key: `${capability}.${name}`,
              health: component.health ? () => component.health!() : undefined,
            })),
            this.options.healthTimeoutMs ?? defaultHealthTimeoutMs,
          )
        : {};
    const functions = Object.fromEntries(
      (this.functions?.host.list() ?? []).map((f) => [`function.${f.name}`, { status: f.state === "DOWN" ? "DOWN" : "UP", details: { reason: f.reason } }]),
    ) as HealthReport["components"];
    return aggregateHealth({ runtime_startup: runtimeStartupHealth(this.phase), ...components, ...functions });
  }

  /**
   * Graceful stop: readiness goes DOWN; the API stops accepting and the app's
   * subscriptions close (no new messages are taken); in-flight calls and
   * deliveries to the app may finish within the shutdown timeout (a delivery cut
   * short stays with its pubsub, to be redelivered); then components and the
   * actuator close. Calling it again returns the same promise.
   */
  shutdown(): Promise<{ drained: boolean }> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async stop(): Promise<{ drained: boolean }> {
    this.phase = "shutting-down";
    // Others stop sending calls here before the drain starts.
    await this.invocation?.nameResolution.unregisterSelf();
    const timeoutMs = this.options.shutdownTimeoutMs;
    const [api, delivery] = await Promise.all([
      this.api ? this.api.shutdown(timeoutMs) : { drained: true },
      this.delivery ? this.delivery.shutdown(timeoutMs) : { drained: true },
    ]);
    await this.functions?.close();
    const drained = api.drained && delivery.drained;
    if (!api.drained && this.api) {
      this.options.log.warn(
        `ottavo: warning: ${this.api.inFlight} call(s) still in flight after ${this.options.shutdownTimeoutMs} ms; connections closed`,
      );
    }
    await this.invocation?.close();
    await this.closeComponents();
    await this.actuator.close();
    // Last: the spans of the drained calls are sent before the process ends.
    await this.tracing?.shutdown().catch((error: unknown) => this.options.log.warn(`ottavo: warning: the last spans could not be sent: ${describe(error)}`));
    return { drained };
  }

  private async closeComponents(): Promise<void> {
    const entries = this.table?.all() ?? [];
    this.table = undefined;
    let timer: NodeJS.Timeout | undefined;
    const closed = closeAll(
      entries.map((entry) => entry.component),
      (_error, index) =>
        this.options.log.warn(`ottavo: warning: ${entries[index].capability} component '${entries[index].name}' failed to close`),
    ).then(() => true);
    const inTime = await Promise.race([
      closed,
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.options.shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) this.options.log.warn(`ottavo: warning: components did not close within ${this.options.shutdownTimeoutMs} ms`);
  }
}

/** Turns a ListenError into a config problem: the fix is in the file. */
async function listenOrExplain<T>(config: RuntimeConfig, what: string, address: ListenAddress, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof ListenError) {
      throw new ConfigError([`${config.file}: ${what} cannot listen on ${formatListenAddress(address)}: ${error.reason}`]);
    }
    throw error;
  }
}

/**
 * Runs a runtime until SIGTERM or SIGINT, then shuts it down gracefully; a
 * second signal exits at once (code 1). Resolves with the exit code: 0 after a
 * clean stop, 1 when the runtime could not start. A signal during start-up
 * stops the runtime as soon as it is up.
 */
export async function runUntilSignalled(
  options: RuntimeOptions,
  exit: (code: number) => void = process.exit,
  /** Called once the start has ended, serving or failed. */
  started: () => void = () => undefined,
): Promise<number> {
  const { log } = options;
  let signalled: NodeJS.Signals | undefined;
  let onFirstSignal: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.error(`ottavo: ${signal} again; exiting at once`);
      exit(1);
      return;
    }
    signalled = signal;
    onFirstSignal?.();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  let runtime: Runtime;
  try {
    runtime = await Runtime.start(options);
  } catch (error) {
    started();
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("SIGINT", onSignal);
    log.error(error instanceof ConfigError ? error.message : `ottavo: cannot start: ${describe(error)}`);
    return 1;
  }
  log.info(runtime.readyLine());
  started();
  if (!signalled) await new Promise<void>((resolve) => (onFirstSignal = resolve));
  log.info(`ottavo: ${signalled} received; finishing in-flight calls (up to ${options.shutdownTimeoutMs} ms)`);
  // The signal handlers stay installed during the drain, so that a second signal exits at once.
  await runtime.shutdown();
  log.info("ottavo: stopped");
  return 0;
}

/**
 * An error thrown outside any request's promise chain (a timer in an adapter, a
 * stray rejection) is reported and the process keeps serving: one bad call must
 * not take every app's runtime down.
 */
export function guardProcess(log: RuntimeLog): void {
  process.on("uncaughtException", (error) => log.error(`ottavo: internal error (still serving): ${describe(error)}`));
  process.on("unhandledRejection", (reason) => log.error(`ottavo: internal error (still serving): ${describe(reason)}`));
}

/**
 * A component's metadata for a debug line: field names with their values, but
 * every field the adapter declares sensitive (a password, a token) and every key
 * it does not declare (it could be anything) shown as "<redacted>".
 */
function shownMetadata(metadata: RawMetadata, fields: readonly MetadataFieldSpec[]): string {
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    const field = fields.find((f) => f.name.toLowerCase() === key.toLowerCase() || f.aliases.some((a) => a.toLowerCase() === key.toLowerCase()));
    shown[key] = field === undefined || field.sensitive ? "<redacted>" : value;
  }
  return JSON.stringify(shown);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
