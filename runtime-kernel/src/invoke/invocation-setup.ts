import { Code, ConnectError } from "@connectrpc/connect";
import { isWildcardHost, type AdvertiseAddress, type InvokeConfig } from "../config/invoke-config";
import { formatListenAddress, type ListenAddress } from "../config/listen-address";
import type { AppConfig } from "../config/runtime-config";
import { ComponentTable } from "../registry/component-table";
import { Resiliency } from "../resiliency/resiliency";
import { emptyResiliency, type ResiliencySpec } from "../resiliency/resiliency-spec";
import { HttpTarget } from "./http-target";
import type { InvocationTarget } from "./invocation";
import { InvocationTargets } from "./invocation-targets";
import { Invoker } from "./invoker";
import { NameResolution } from "./name-resolution";
import { runtimeToken } from "./runtime-token";
import { withTimeout } from "./timed-target";

/** The HTTP target of one configured service, with its timeout. */
export function httpTargetOf(
  config: { url: string; idHeader: boolean; timeoutMs?: number; maxSockets?: number },
  description: string,
): InvocationTarget {
  const target = new HttpTarget({ url: config.url, description, idHeader: config.idHeader, maxSockets: config.maxSockets });
  return config.timeoutMs === undefined ? target : withTimeout(target, config.timeoutMs);
}

/** Everything service invocation needs at run time. */
export interface Invocation {
  readonly invoker: Invoker;
  readonly nameResolution: NameResolution;
  /** The token forwarded calls must carry here, if any. */
  readonly token: string | undefined;
  close(): Promise<void>;
}

/**
 * The runtime's invocation targets, consulted in this order: an id registered
 * (configured HTTP services, the local app under this runtime's app id, functions),
 * then Layotto's catch-all channel, then name resolution to another runtime.
 */
export function createInvocation(
  config: InvokeConfig,
  app: AppConfig,
  table: ComponentTable,
  resiliency: ResiliencySpec = emptyResiliency,
): Invocation {
  const targets = new InvocationTargets();
  for (const target of config.targets) targets.register(target.id, httpTargetOf(target, `HTTP service '${target.id}' (${target.url})`));
  if (app.http !== undefined && app.id !== "" && targets.get(app.id) === undefined) {
    const url = `http://${app.http.host.includes(":") ? `[${app.http.host}]` : app.http.host}:${app.http.port}`;
    targets.register(app.id, new HttpTarget({ url, description: `app '${app.id}' (${url})` }));
  }
  if (app.id !== "") {
    // Never resolve our own app id: name resolution would send the call back here.
    targets.addFallback(async (id) => {
      if (id !== app.id) return undefined;
      throw new ConnectError(
        `app '${app.id}' is served by this runtime, which has no app HTTP port to deliver to (set app.httpPort)`,
        Code.FailedPrecondition,
      );
    });
  }
  const { fallback } = config;
  if (fallback !== undefined) {
    const target = httpTargetOf(fallback, `HTTP service ${fallback.url}`);
    targets.addFallback(async () => target);
  }
  const token = runtimeToken(config.token);
  const nameResolution = new NameResolution(table, app.id, token);
  targets.addFallback(nameResolution.fallback);
  const invoker = new Invoker(
    targets,
    "configure it under invoke.targets (Ottavo YAML) or grpc_config.rpcs (Layotto), or add a nameresolution component",
    resiliency.apps.size > 0 ? new Resiliency(resiliency) : undefined,
  );
  return {
    invoker,
    nameResolution,
    token,
    async close() {
      nameResolution.close();
      await targets.close();
    },
  };
}

/** Service invocation with only the configured HTTP targets (tests, embedding). */
export function createInvoker(config: InvokeConfig, resiliency?: ResiliencySpec): Invoker {
  return createInvocation(config, { id: "" }, new ComponentTable(""), resiliency).invoker;
}

/** What this runtime registers with name resolution, and why not or with what caveat. */
export interface Advertised {
  readonly address?: string;
  readonly warning?: string;
}

/**
 * The address other runtimes reach this API at: `invoke.advertiseAddress` when
 * configured (its port defaulting to the API's bound port), else the API's
 * address as bound. A wildcard bind (0.0.0.0, ::) is not an address anyone can
 * dial: loopback is advertised then, with a warning, since only runtimes on this
 * machine can reach it. Nothing for a Unix socket without a configured address.
 */
export function advertisedAddress(api: ListenAddress, configured?: AdvertiseAddress): Advertised {
  const hint = "set invoke.advertiseAddress to the address other runtimes should call";
  if (configured !== undefined) {
    const port = configured.port ?? (api.kind === "tcp" ? api.port : undefined);
    if (port === undefined) return { warning: `the API listens on a Unix socket, so invoke.advertiseAddress needs a port; this runtime is not registered` };
    return { address: formatListenAddress({ kind: "tcp", host: configured.host, port }) };
  }
  if (api.kind !== "tcp") return { warning: `the API listens on a Unix socket, which other runtimes cannot dial; this runtime is not registered (${hint})` };
  if (!isWildcardHost(api.host)) return { address: formatListenAddress(api) };
  const host = api.host.includes(":") ? "::1" : "127.0.0.1";
  const address = formatListenAddress({ kind: "tcp", host, port: api.port });
  return {
    address,
    warning: `the API listens on every interface (${formatListenAddress(api)}), which is no address to dial; registering ${address}, which only runtimes on this machine can reach (${hint})`,
  };
}
