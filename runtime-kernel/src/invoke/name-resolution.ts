import { Code, ConnectError } from "@connectrpc/connect";
import { nameResolverHas } from "@ottavo/generated/components/nameresolution";
import type { ComponentTable } from "../registry/component-table";
import { componentFailure } from "../errors/error-mapping";
import type { InvocationTarget } from "./invocation";
import type { TargetResolver } from "./invocation-targets";
import { RemoteRuntimeTarget } from "./remote-runtime-target";

/**
 * App ids to other runtimes, through the configured nameresolution components
 * (consulted in config order; the first that knows the id answers), and this
 * runtime's own registration with those that take registrations.
 */
export class NameResolution {
  /** One target (one pool of HTTP/1.1 connections) per remote runtime address. */
  private readonly remotes = new Map<string, RemoteRuntimeTarget>();
  private registered: { appId: string; address: string } | undefined;

  constructor(
    private readonly table: ComponentTable,
    private readonly ownAppId: string,
    /** Presented to the other runtime as dapr-api-token. */
    private readonly token: string | undefined,
  ) {}

  get configured(): boolean {
    return this.table.list("nameresolution").length > 0;
  }

  /** Whether some resolver takes registrations (redis), so this runtime's address matters. */
  get registers(): boolean {
    return this.ownAppId !== "" && this.table.list("nameresolution").some(({ component }) => nameResolverHas(component, "REGISTRATION"));
  }

  /** The fallback InvocationTargets consults for ids nothing registered. */
  readonly fallback: TargetResolver = async (id, hops) => {
    const resolvers = this.table.list("nameresolution");
    if (resolvers.length === 0) return undefined;
    if (hops > 0) {
      // A call another runtime forwarded goes to the local app or nowhere: never on again, so no loops.
      throw new ConnectError(
        `this runtime serves app '${this.ownAppId}', not '${id}': a forwarded call is only delivered to the local app (a stale name resolution entry?)`,
        Code.Unavailable,
      );
    }
    for (const { name, component } of resolvers) {
      let addresses: string[];
      try {
        addresses = await component.resolve({ appId: id });
      } catch (error) {
        throw componentFailure(error, (detail) => `nameresolution '${name}' cannot resolve app '${id}': ${detail}`);
      }
      if (addresses.length > 0) return this.remote(addresses[Math.floor(Math.random() * addresses.length)]!, id);
    }
    const names = resolvers.map((r) => `'${r.name}'`).join(", ");
    throw new ConnectError(`no runtime of app '${id}' is registered (nameresolution ${names})`, Code.Unavailable);
  };

  /**
   * Registers this runtime's app id and API address with every resolver that
   * takes registrations. Returns a warning per resolver that failed (start goes on:
   * other runtimes cannot reach this app until a later heartbeat succeeds).
   */
  async registerSelf(address: string): Promise<string[]> {
    if (this.ownAppId === "") return [];
    const registration = { appId: this.ownAppId, address };
    this.registered = registration;
    const warnings: string[] = [];
    for (const { name, component } of this.table.list("nameresolution")) {
      if (!nameResolverHas(component, "REGISTRATION")) continue;
      try {
        await component.register(registration);
      } catch (error) {
        warnings.push(`ottavo: warning: nameresolution '${name}' could not register app '${this.ownAppId}' at ${address}: ${String((error as Error).message ?? error)}`);
      }
    }
    return warnings;
  }

  /** Removes this runtime's entries (at shutdown, before the drain, so others stop sending calls here). */
  async unregisterSelf(): Promise<void> {
    const registration = this.registered;
    if (registration === undefined) return;
    this.registered = undefined;
    await Promise.allSettled(
      this.table
        .list("nameresolution")
        .map(({ component }) => (nameResolverHas(component, "REGISTRATION") ? component.unregister(registration) : undefined)),
    );
  }

  close(): void {
    for (const remote of this.remotes.values()) remote.close();
    this.remotes.clear();
  }

  private remote(address: string, appId: string): InvocationTarget {
    let target = this.remotes.get(address);
    if (target === undefined) {
      target = new RemoteRuntimeTarget(address, appId, this.token);
      this.remotes.set(address, target);
    }
    return target;
  }
}
