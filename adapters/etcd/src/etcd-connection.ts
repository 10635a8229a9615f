import type { AdapterContext } from "@ottavo/component-runtime";
import { MetadataError } from "@ottavo/component-runtime";
import { UnavailableError } from "@ottavo/generated/components/errors";
import type { EtcdLockMetadata as EtcdConnectionMetadata } from "@ottavo/generated/components/adapters/etcd";
import type { Etcd3 } from "etcd3";
import { etcd3 } from "./etcd3-module";

/**
 * One etcd3 client per component, from Layotto's metadata names. Layotto's
 * config_store entries give the cluster as `address` (a list) and `timeout`
 * (seconds) beside the metadata; they arrive here as settings and are read too.
 */
export class EtcdConnection {
  private constructor(
    readonly client: Etcd3,
    /** keyPrefixPath with a "/" at either end. */
    readonly prefix: string,
    private readonly componentName: string,
  ) {}

  static open(metadata: EtcdConnectionMetadata, context: AdapterContext): EtcdConnection {
    const address = context.settings["address"];
    if (address !== undefined && (!Array.isArray(address) || !address.every((a) => typeof a === "string" && a !== ""))) {
      throw new MetadataError([`etcd component '${context.componentName}': address must be a list of host:port`]);
    }
    const endpoints = (address as string[] | undefined) ?? metadata.endpoints.split(";").filter((e: string) => e !== "");
    if (endpoints.length === 0) throw new MetadataError([`etcd component '${context.componentName}': endpoints names no host:port`]);
    const timeout = context.settings["timeout"];
    const dialSeconds = timeout !== undefined && /^\d+$/.test(String(timeout)) ? Number(timeout) : metadata.dialTimeout;
    const client = new (etcd3().Etcd3)({
      hosts: endpoints.map((e: string) => (e.includes("://") ? e : `http://${e}`)),
      dialTimeout: dialSeconds * 1000,
      ...(metadata.username !== undefined ? { auth: { username: metadata.username, password: metadata.password ?? "" } } : {}),
    });
    return new EtcdConnection(client, withSlashes(metadata.keyPrefixPath), context.componentName);
  }

  /** Runs one etcd call; etcd's transport failures become UNAVAILABLE naming the component. */
  async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof etcd3().EtcdError) {
        throw new UnavailableError(`etcd of component '${this.componentName}' is unavailable: ${error.message}`, error);
      }
      throw error;
    }
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
