import { parseDuration } from "@ottavo/component-runtime";
import type { ConfigReport } from "./config-error";
import { isPlainObject } from "./component-entry";
import { parseListenAddress } from "./listen-address";

/** One HTTP service InvokeService can call by id. */
export interface HttpTargetConfig {
  readonly id: string;
  readonly url: string;
  /** How long one call may take; none means the caller's deadline (and the resiliency policy) alone. */
  readonly timeoutMs?: number;
  /** Send the id in an `id` header (Layotto's http channel does; its MOSN router needs it). */
  readonly idHeader: boolean;
  /** Connections kept to it (Layotto's channel size); unbounded when absent. */
  readonly maxSockets?: number;
}

/** Service invocation: the targets the config names, and how runtimes call each other. */
export interface InvokeConfig {
  readonly targets: readonly HttpTargetConfig[];
  /** Where ids no target or resolver knows go (Layotto's channel dialling host:port directly). */
  readonly fallback?: Omit<HttpTargetConfig, "id">;
  /**
   * The shared secret runtimes present to each other (as dapr-api-token) when one
   * forwards a call to another's app; the receiving runtime refuses a forwarded
   * call without it. Also read from OTTAVO_INVOKE_TOKEN.
   */
  readonly token?: string;
  /**
   * The address this runtime registers with name resolution for other runtimes
   * to call it at; the API's own address when absent. The port may be left
   * out: the API's bound port is used then.
   */
  readonly advertiseAddress?: AdvertiseAddress;
}

/** A host other runtimes can dial (never a wildcard), and optionally a port. */
export interface AdvertiseAddress {
  readonly host: string;
  readonly port?: number;
}

export const emptyInvokeConfig: InvokeConfig = { targets: [] };

/** Layotto's default per-call timeout for its rpc invoker (components/rpc/types.go DefaultRequestTimeoutMs). */
export const layottoRequestTimeoutMs = 3000;

/**
 * Ottavo YAML's `invoke` section:
 *
 *   invoke:
 *     targets:
 *       HelloService:1.0: { url: http://127.0.0.1:8889, timeout: 3s }
 *     token: s3cret            # runtime-to-runtime calls; or OTTAVO_INVOKE_TOKEN
 *     advertiseAddress: 10.0.0.5:34904   # registered with name resolution; default: the API's address
 */
export function readOttavoInvoke(report: ConfigReport, value: unknown): InvokeConfig {
  if (value === undefined || value === null) return emptyInvokeConfig;
  if (!isPlainObject(value)) {
    report.problem("'invoke' must be a map with targets (and optionally token, advertiseAddress)");
    return emptyInvokeConfig;
  }
  const { targets, token, advertiseAddress, ...unknown } = value;
  for (const key of Object.keys(unknown)) report.problem(`unknown key 'invoke.${key}'; known: targets, token, advertiseAddress`);
  if (token !== undefined && token !== null && (typeof token !== "string" || token === "")) {
    report.problem("'invoke.token' must be a non-empty string");
  }
  const read: HttpTargetConfig[] = [];
  if (targets !== undefined && targets !== null) {
    if (!isPlainObject(targets)) {
      report.problem("'invoke.targets' must be a map of ids to { url, timeout }");
    } else {
      for (const [id, entry] of Object.entries(targets)) {
        const target = readTarget(report, `invoke.targets.${id}`, entry);
        if (target !== undefined) read.push({ id, ...target });
      }
    }
  }
  const advertised = advertiseAddress === undefined || advertiseAddress === null ? undefined : readAdvertiseAddress(report, advertiseAddress);
  return {
    targets: read,
    ...(typeof token === "string" && token !== "" ? { token } : {}),
    ...(advertised === undefined ? {} : { advertiseAddress: advertised }),
  };
}

/** Hosts that mean "every interface" when listening and nothing when dialled. */
export function isWildcardHost(host: string): boolean {
  return host === "" || host === "0.0.0.0" || host === "::" || host === "0:0:0:0:0:0:0:0";
}

/**
 * `invoke.advertiseAddress`: "host:port", "[v6]:port" or a host alone (the API's
 * port then). A wildcard host is refused: other runtimes cannot dial 0.0.0.0.
 */
function readAdvertiseAddress(report: ConfigReport, value: unknown): AdvertiseAddress | undefined {
  const where = "'invoke.advertiseAddress'";
  if (typeof value !== "string" || value.trim() === "") {
    report.problem(`${where} must be host:port or a host other runtimes can reach this runtime's API at, e.g. 10.0.0.5:34904`);
    return undefined;
  }
  const text = value.trim();
  const withPort = /:\d+$/.test(text) && (!text.includes("::") || text.startsWith("[")) ? parseListenAddress(text) : undefined;
  let address: AdvertiseAddress;
  if (withPort !== undefined) {
    if ("problem" in withPort || withPort.kind !== "tcp") {
      report.problem(`${where} '${text}' ${"problem" in withPort ? withPort.problem : "must be a TCP address"}`);
      return undefined;
    }
    if (withPort.port === 0) {
      report.problem(`${where} '${text}': port 0 is no port other runtimes can dial; leave the port out to advertise the API's bound port`);
      return undefined;
    }
    address = { host: withPort.host, port: withPort.port };
  } else {
    if (text.startsWith("unix:") || /[\s/]/.test(text)) {
      report.problem(`${where} '${text}' must be host:port or a host; a Unix socket cannot be reached by other runtimes`);
      return undefined;
    }
    address = { host: text.replace(/^\[(.*)\]$/, "$1") };
  }
  if (isWildcardHost(address.host)) {
    report.problem(`${where} '${text}': ${address.host === "" ? "an empty host" : address.host} means every interface, which other runtimes cannot dial; advertise this machine's address (e.g. its IP)`);
    return undefined;
  }
  return address;
}

function readTarget(report: ConfigReport, where: string, entry: unknown): Omit<HttpTargetConfig, "id"> | undefined {
  if (!isPlainObject(entry)) {
    report.problem(`'${where}' must be a map with url (and optionally timeout)`);
    return undefined;
  }
  const { url, timeout, ...unknown } = entry;
  for (const key of Object.keys(unknown)) report.problem(`unknown key '${where}.${key}'; known: url, timeout`);
  const checkedUrl = checkHttpUrl(report, `'${where}.url'`, url);
  let timeoutMs: number | undefined;
  if (timeout !== undefined && timeout !== null) {
    timeoutMs = typeof timeout === "string" || typeof timeout === "number" ? parseDuration(String(timeout)) : undefined;
    if (timeoutMs === undefined || timeoutMs <= 0) {
      report.problem(`'${where}.timeout' must be a positive duration such as "3s" or "250ms"`);
      timeoutMs = undefined;
    }
  }
  if (checkedUrl === undefined) return undefined;
  return { url: checkedUrl, idHeader: false, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
}

function checkHttpUrl(report: ConfigReport, what: string, url: unknown): string | undefined {
  if (typeof url !== "string" || url === "") {
    report.problem(`${what} must be an http:// URL such as http://127.0.0.1:8889`);
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    report.problem(`${what} '${url}' is not a URL; expected e.g. http://127.0.0.1:8889`);
    return undefined;
  }
  if (parsed.protocol !== "http:") {
    report.problem(`${what} '${url}': only http:// is supported`);
    return undefined;
  }
  return url;
}

/**
 * Layotto's `grpc_config.rpcs`, mapped onto HTTP targets. Layotto's only invoker
 * is "mosn": its first channel sends each call as HTTP/1.1 (protocol "http") to a
 * MOSN listener, whose router picks an upstream cluster by the `id` header.
 * Ottavo is not a proxy, so it follows that chain in the same file at start:
 * channel listener -> its proxy filter's router_config_name -> the router's
 * virtual host routes matching header `id` -> cluster -> first host. A route
 * without an id match becomes the fallback for every other id. A channel
 * listener written as host:port is dialled directly by Layotto: it becomes the
 * fallback. Calls get Layotto's 3 s default timeout.
 */
export function readLayottoRpcs(report: ConfigReport, rpcs: unknown, root: Record<string, unknown>): InvokeConfig {
  if (rpcs === undefined || rpcs === null) return emptyInvokeConfig;
  const where = "grpc_config.rpcs";
  if (!isPlainObject(rpcs)) {
    report.problem(`${where} must be a map of invoker names to { config }`);
    return emptyInvokeConfig;
  }
  for (const name of Object.keys(rpcs)) {
    if (name !== "mosn") report.warning(`${where}.${name}: only Layotto's "mosn" invoker is supported; ignored`);
  }
  const mosn = rpcs.mosn;
  if (mosn === undefined) return emptyInvokeConfig;
  const config = isPlainObject(mosn) ? mosn.config : undefined;
  const channels = isPlainObject(config) ? config.channel : undefined;
  if (!Array.isArray(channels) || channels.length === 0 || !isPlainObject(channels[0])) {
    report.problem(`${where}.mosn.config.channel must list at least one channel { protocol, listener, size }`);
    return emptyInvokeConfig;
  }
  if (channels.length > 1) report.warning(`${where}.mosn.config.channel: only the first channel is used, as in Layotto`);
  for (const key of ["before_invoke", "after_invoke"]) {
    if (isPlainObject(config) && config[key] !== undefined) report.warning(`${where}.mosn.config.${key} is not supported; ignored`);
  }
  const channel = channels[0] as Record<string, unknown>;
  const at = `${where}.mosn.config.channel[0]`;
  if (channel.protocol !== "http") {
    report.warning(`${at}: protocol '${String(channel.protocol)}' is not supported (only "http"); calls to targets it would reach fail`);
    return emptyInvokeConfig;
  }
  const size = Number.isInteger(channel.size) && (channel.size as number) > 0 ? (channel.size as number) : undefined;
  const common = { idHeader: true, timeoutMs: layottoRequestTimeoutMs, ...(size === undefined ? {} : { maxSockets: size }) };
  const listener = channel.listener;
  if (typeof listener !== "string" || listener === "") {
    report.problem(`${at}.listener must name a listener or be host:port`);
    return emptyInvokeConfig;
  }
  if (/^[^/]+:\d+$/.test(listener)) return { targets: [], fallback: { url: `http://${listener}`, ...common } };

  const routes = routesOfListener(report, root, listener, at);
  const targets: HttpTargetConfig[] = [];
  let fallback: InvokeConfig["fallback"];
  for (const route of routes) {
    const url = clusterUrl(report, root, route.cluster, at);
    if (url === undefined) continue;
    if (route.id === undefined) fallback ??= { url, ...common };
    else if (!targets.some((t) => t.id === route.id)) targets.push({ id: route.id, url, ...common });
  }
  return { targets, ...(fallback === undefined ? {} : { fallback }) };
}

interface Route {
  /** The `id` header value the route matches; undefined for a route matching any id. */
  readonly id?: string;
  readonly cluster: string;
}

function routesOfListener(report: ConfigReport, root: Record<string, unknown>, name: string, at: string): Route[] {
  const server = Array.isArray(root.servers) && isPlainObject(root.servers[0]) ? root.servers[0] : {};
  const listeners = Array.isArray(server.listeners) ? server.listeners.filter(isPlainObject) : [];
  const listener = listeners.find((l) => l.name === name);
  if (listener === undefined) {
    report.problem(`${at}.listener '${name}' names no listener in servers[0].listeners`);
    return [];
  }
  const chains = Array.isArray(listener.filter_chains) ? listener.filter_chains.filter(isPlainObject) : [];
  const proxy = chains
    .flatMap((chain) => (Array.isArray(chain.filters) ? chain.filters.filter(isPlainObject) : []))
    .find((filter) => filter.type === "proxy" && isPlainObject(filter.config));
  const routerName = proxy !== undefined ? (proxy.config as Record<string, unknown>).router_config_name : undefined;
  const routers = Array.isArray(server.routers) ? server.routers.filter(isPlainObject) : [];
  const router = routers.find((r) => r.router_config_name === routerName);
  if (router === undefined) {
    report.problem(`${at}: listener '${name}' has no proxy filter whose router_config_name names one of servers[0].routers`);
    return [];
  }
  const routes: Route[] = [];
  const hosts = Array.isArray(router.virtual_hosts) ? router.virtual_hosts.filter(isPlainObject) : [];
  for (const host of hosts) {
    for (const entry of Array.isArray(host.routers) ? host.routers.filter(isPlainObject) : []) {
      const cluster = isPlainObject(entry.route) ? entry.route.cluster_name : undefined;
      if (typeof cluster !== "string") continue;
      const headers = isPlainObject(entry.match) && Array.isArray(entry.match.headers) ? entry.match.headers : [];
      const idMatch = headers.find((h) => isPlainObject(h) && h.name === "id" && typeof h.value === "string") as
        | { value: string }
        | undefined;
      routes.push(idMatch === undefined ? { cluster } : { id: idMatch.value, cluster });
    }
  }
  if (routes.length === 0) report.warning(`${at}: router '${String(routerName)}' routes to no cluster; no rpc targets`);
  return routes;
}

function clusterUrl(report: ConfigReport, root: Record<string, unknown>, name: string, at: string): string | undefined {
  const manager = isPlainObject(root.cluster_manager) ? root.cluster_manager : {};
  const clusters = Array.isArray(manager.clusters) ? manager.clusters.filter(isPlainObject) : [];
  const cluster = clusters.find((c) => c.name === name);
  const hosts = cluster !== undefined && Array.isArray(cluster.hosts) ? cluster.hosts.filter(isPlainObject) : [];
  const address = hosts[0]?.address;
  if (typeof address !== "string" || !/^[^/]+:\d+$/.test(address)) {
    report.problem(`${at}: cluster '${name}' has no host address (cluster_manager.clusters[].hosts[0].address host:port)`);
    return undefined;
  }
  if (hosts.length > 1) report.warning(`${at}: cluster '${name}': only its first host ${address} is called`);
  return `http://${address}`;
}
