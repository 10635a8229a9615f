import type { AdapterContext } from "@ottavo/component-runtime";
import { MetadataError } from "@ottavo/component-runtime";
import { InvalidArgumentError, TimeoutError, UnavailableError } from "@ottavo/generated/components/errors";
import type { EtcdConnectionMetadata } from "@ottavo/generated/components/metadata-groups";
import type { Etcd3 } from "etcd3";
import { cockatiel, etcd3 } from "./etcd3-module";

/**
 * One etcd3 client per component, from Layotto's metadata names. Layotto's
 * config_store entries give the cluster as `address` (a list) and `timeout`
 * (seconds) beside the metadata; they arrive here as settings and are read too.
 *
 * Why etcd3 (npm, Microsoft's): it is the one maintained etcd v3 client for Node
 * (node-etcd speaks the v2 API, the others wrap etcd3 or are single-app tools), it
 * speaks etcd's own gRPC API over grpc-js with transactions, leases and watches.
 * Two of its defaults are replaced here: its retry policy (a write whose answer was
 * lost would be sent again, so a config change could be applied and notified twice)
 * and its circuit breaker (it kept failing calls for 5 s after etcd came back); a
 * call is sent once and fails with a status the caller can act on. Its calls carry
 * no deadline by default, so a stopped (not dead) etcd would hang them: each has
 * requestTimeout.
 */
export class EtcdConnection {
  private constructor(
    readonly client: Etcd3,
    /** keyPrefixPath with a "/" at either end. */
    readonly prefix: string,
    private readonly componentName: string,
    /** How long one call (or a watch's creation) may wait for etcd, in milliseconds. */
    readonly requestTimeout: number,
  ) {}

  static open(metadata: EtcdConnectionMetadata, keyPrefixPath: string, context: AdapterContext): EtcdConnection {
    const address = context.settings["address"];
    if (address !== undefined && (!Array.isArray(address) || !address.every((a) => typeof a === "string" && a !== ""))) {
      throw new MetadataError([`etcd component '${context.componentName}': address must be a list of host:port`]);
    }
    const endpoints = (address as string[] | undefined) ?? metadata.endpoints.split(";").filter((e: string) => e !== "");
    if (endpoints.length === 0) throw new MetadataError([`etcd component '${context.componentName}': endpoints names no host:port`]);
    const timeout = context.settings["timeout"];
    const dialSeconds = timeout !== undefined && /^[1-9]\d*$/.test(String(timeout)) ? Number(timeout) : metadata.dialTimeout;
    const requestTimeout = metadata.requestTimeout;
    const { noop } = cockatiel();
    const client = new (etcd3().Etcd3)({
      hosts: endpoints.map((e: string) => (e.includes("://") ? e : `http://${e}`)),
      dialTimeout: dialSeconds * 1000,
      faultHandling: { host: () => noop, global: noop },
      // Streams (watches) have no deadline; every unary call has requestTimeout.
      defaultCallOptions: (call) => (call.isStream ? {} : { deadline: Date.now() + requestTimeout }),
      grpcOptions: {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": dialSeconds * 1000,
        // A watch on a link that died silently (no reset) is noticed within 15 s;
        // etcd accepts pings every 5 s or slower (its --grpc-keepalive-min-time).
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
      },
      ...(metadata.username !== undefined ? { auth: { username: metadata.username, password: metadata.password ?? "" } } : {}),
    });
    return new EtcdConnection(client, withSlashes(keyPrefixPath), context.componentName, requestTimeout);
  }

  /** Runs one etcd call; etcd's failures become statuses naming the component. */
  async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.statusOf(error);
    }
  }

  /** The component error an etcd3 failure maps to; anything else is returned as it is. */
  statusOf(error: unknown): unknown {
    const what = `etcd of component '${this.componentName}'`;
    const { ClientClosedError, EtcdError, EtcdWatchStreamEnded, GRPCDeadlineExceededError, GRPCGenericError, GRPCInvalidArgumentError } = etcd3();
    if (error instanceof GRPCDeadlineExceededError) {
      return new TimeoutError(`${what} did not answer in time: ${error.message}`, error);
    }
    if (error instanceof GRPCInvalidArgumentError) {
      return new InvalidArgumentError(`${what} refused the request: ${error.message}`, error);
    }
    if (
      error instanceof GRPCGenericError ||
      error instanceof EtcdError ||
      error instanceof EtcdWatchStreamEnded ||
      error instanceof ClientClosedError ||
      cockatiel().isBrokenCircuitError(error)
    ) {
      return new UnavailableError(`${what} is unavailable: ${(error as Error).message}`, error);
    }
    return error;
  }

  /** Ready while etcd answers a read. */
  async health(): Promise<void> {
    await this.call(() => this.client.get(`${this.prefix}health`).string());
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}

function withSlashes(prefix: string): string {
  if (prefix === "") return "/";
  return `${prefix.startsWith("/") ? "" : "/"}${prefix}${prefix.endsWith("/") ? "" : "/"}`;
}
