import type { InvocationTarget } from "./invocation";

/**
 * Finds a target for ids no registered target claims: name resolution to another
 * runtime, for instance. Returns undefined when it does not know the id either.
 */
export type TargetResolver = (id: string, hops: number) => Promise<InvocationTarget | undefined>;

/**
 * The registry InvokeService consults: `id` -> target. Configured HTTP targets
 * (Ottavo YAML `invoke.targets`, Layotto's `rpcs`), the local app (under the
 * runtime's own app id) and functions are registered here by id; ids nobody
 * registered go to the fallbacks in order (Layotto's catch-all HTTP channel, then
 * name resolution to a remote runtime).
 *
 * The hook for other engines (wasm functions, issue 12):
 *
 *   const unregister = runtime.invocationTargets.register("id_2", {
 *     description: "wasm function 'id_2'",
 *     invoke: async (request) => ({ status: 200, contentType: "text/plain", data, headers: [] }),
 *   });
 *   ...
 *   unregister();   // on uninstall; in-flight calls keep the target they found
 *
 * A registered id wins over name resolution, so a function can shadow a remote app.
 */
export class InvocationTargets {
  private readonly byId = new Map<string, InvocationTarget>();
  private readonly fallbacks: TargetResolver[] = [];

  /** Registers the target under id; throws if another holds it. Returns the unregister function. */
  register(id: string, target: InvocationTarget): () => void {
    if (id === "") throw new Error("an invocation target needs a non-empty id");
    const holder = this.byId.get(id);
    if (holder !== undefined) throw new Error(`invocation target '${id}' is already registered (${holder.description})`);
    this.byId.set(id, target);
    return () => {
      if (this.byId.get(id) !== target) return;
      this.byId.delete(id);
      void target.close?.();
    };
  }

  /** Adds a resolver consulted, in the order added, for ids with no registered target. */
  addFallback(resolver: TargetResolver): void {
    this.fallbacks.push(resolver);
  }

  /** The registered target of id, if any (no fallback). */
  get(id: string): InvocationTarget | undefined {
    return this.byId.get(id);
  }

  /** The target for id: the registered one, else the first fallback that knows it. */
  async resolve(id: string, hops: number): Promise<InvocationTarget | undefined> {
    const registered = this.byId.get(id);
    if (registered !== undefined) return registered;
    for (const fallback of this.fallbacks) {
      const found = await fallback(id, hops);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** The ids registered, for messages and the actuator. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** Closes every registered target (runtime shutdown). */
  async close(): Promise<void> {
    const targets = [...this.byId.values()];
    this.byId.clear();
    await Promise.allSettled(targets.map((target) => target.close?.()));
  }
}
