import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
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
 * requestTimeout. TLS, with Layotto's tlsCa / tlsCert / tlsCertKey, is grpc-js's
 * (Node's TLS): the server certificate is checked against tlsCa and the endpoint's
 * host; a failed handshake fails the call with UNAVAILABLE at once.
 */
export class EtcdConnection {
  private constructor(
    readonly client: Etcd3,
    /** keyPrefixPath with a "/" at either end. */
    readonly prefix: string,
    private readonly componentName: string,
    /** How long one call (or a watch's creation) may wait for etcd, in milliseconds. */
    readonly requestTimeout: number,
    /** Whether the client speaks TLS (tlsCa / tlsCert / tlsCertKey or https:// endpoints). */
    private readonly tls: boolean,
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
    const credentials = tlsCredentials(metadata, endpoints, context);
    const scheme = credentials === undefined ? "http" : "https";
    const { noop } = cockatiel();
    const client = new (etcd3().Etcd3)({
      hosts: endpoints.map((e: string) => (e.includes("://") ? e : `${scheme}://${e}`)),
      ...(credentials !== undefined && { credentials }),
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
    return new EtcdConnection(client, withSlashes(keyPrefixPath), context.componentName, requestTimeout, credentials !== undefined);
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
      const message = (error as Error).message;
      // A failed handshake: say where the certificates come from.
      const hint = this.tls && /certificate|SSL|TLS/.test(message) ? " (TLS: check the component's tlsCa, tlsCert and tlsCertKey)" : "";
      return new UnavailableError(`${what} is unavailable: ${message}${hint}`, error);
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

/**
 * The TLS credentials from Layotto's tlsCa / tlsCert / tlsCertKey (each a PEM file
 * path, relative to the config file, or the PEM text), or undefined when TLS is
 * off. TLS is on when any of them is set or every endpoint is written https://;
 * tlsCa absent means the system's CAs. The files are read and the certificate
 * checked against its key here, so a wrong setting stops the component at start
 * with its name rather than failing every call later.
 */
function tlsCredentials(
  metadata: EtcdConnectionMetadata,
  endpoints: readonly string[],
  context: AdapterContext,
): { rootCertificate: Buffer; certChain?: Buffer; privateKey?: Buffer } | undefined {
  const component = `etcd component '${context.componentName}'`;
  const secure = endpoints.filter((e) => e.startsWith("https://")).length;
  const insecure = endpoints.filter((e) => e.startsWith("http://")).length;
  const configured = metadata.tlsCa !== undefined || metadata.tlsCert !== undefined || metadata.tlsCertKey !== undefined;
  if (configured && insecure > 0) throw new MetadataError([`${component}: tlsCa, tlsCert or tlsCertKey is set, but an endpoint is written http://`]);
  if (secure > 0 && secure < endpoints.length) {
    throw new MetadataError([`${component}: endpoints mix https:// and others; write every one with https:// or none`]);
  }
  if (!configured && secure === 0) return undefined;
  if ((metadata.tlsCert === undefined) !== (metadata.tlsCertKey === undefined)) {
    throw new MetadataError([`${component}: tlsCert and tlsCertKey go together (a client certificate and its private key); one is missing`]);
  }
  const read = (field: string, value: string): Buffer => {
    if (value.includes("-----BEGIN")) return Buffer.from(value);
    const file = resolve(context.configDir, value);
    try {
      return readFileSync(file);
    } catch (error) {
      throw new MetadataError([`${component}: cannot read ${field} file '${file}': ${(error as Error).message}`]);
    }
  };
  const ca = metadata.tlsCa === undefined ? undefined : read("tlsCa", metadata.tlsCa);
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (error) {
      throw new MetadataError([`${component}: tlsCa holds no PEM certificate: ${(error as Error).message}`]);
    }
  }
  if (metadata.tlsCert === undefined || metadata.tlsCertKey === undefined) {
    // grpc-js takes no root certificate as "the system's CAs".
    return { rootCertificate: ca as Buffer };
  }
  const certChain = read("tlsCert", metadata.tlsCert);
  const privateKey = read("tlsCertKey", metadata.tlsCertKey);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certChain);
  } catch (error) {
    throw new MetadataError([`${component}: tlsCert holds no PEM certificate: ${(error as Error).message}`]);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKey);
  } catch (error) {
    throw new MetadataError([`${component}: tlsCertKey holds no PEM private key: ${(error as Error).message}`]);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new MetadataError([`${component}: tlsCertKey is not the private key of tlsCert (${certificate.subject.replace(/\n/g, ", ")})`]);
  }
  return { rootCertificate: ca as Buffer, certChain, privateKey };
}

function withSlashes(prefix: string): string {
  if (prefix === "") return "/";
  return `${prefix.startsWith("/") ? "" : "/"}${prefix}${prefix.endsWith("/") ? "" : "/"}`;
}
