import { httpAdapters } from "@ottavo/adapter-http";
import { kafkaAdapters } from "@ottavo/adapter-kafka";
import { localAdapters } from "@ottavo/adapter-local";
import { memoryAdapters } from "@ottavo/adapter-memory";
import { etcdAdapters } from "@ottavo/adapter-etcd";
import { redisAdapters } from "@ottavo/adapter-redis";
import {
  declaredAdapters,
  type AdapterDeclaration,
  type CapabilityAdapterFactory,
  type CapabilityKind,
} from "@ottavo/generated/components/registry";

/**
 * The adapter factories the runtime can create components from, by capability
 * and type. This file is the only place in the kernel that names backends.
 */
export class AdapterRegistry {
  private readonly factories = new Map<string, CapabilityAdapterFactory>();

  /**
   * Every factory must match an adapter declared in spec/components, with the
   * same features: anything else is a programming error, so it throws.
   */
  constructor(
    factories: readonly CapabilityAdapterFactory[],
    declarations: readonly AdapterDeclaration[] = declaredAdapters,
  ) {
    for (const factory of factories) {
      const what = `adapter '${factory.type}' (${factory.capability})`;
      const declared = declarations.find((d) => d.capability === factory.capability && d.type === factory.type);
      if (!declared) throw new Error(`${what} is not declared in spec/components; declare it and run make gen`);
      const has = [...factory.features].sort().join(", ");
      const wants = [...declared.features].sort().join(", ");
      if (has !== wants) throw new Error(`${what} has features [${has}] but spec/components declares [${wants}]`);
      const key = registryKey(factory.capability, factory.type);
      if (this.factories.has(key)) throw new Error(`${what} is registered twice`);
      this.factories.set(key, factory);
    }
  }

  /** The factory for a capability and type, or undefined. */
  get(capability: CapabilityKind, type: string): CapabilityAdapterFactory | undefined {
    return this.factories.get(registryKey(capability, type));
  }

  /** The types of one capability, sorted, for "known types" messages. */
  types(capability: CapabilityKind): string[] {
    return [...this.factories.values()]
      .filter((f) => f.capability === capability)
      .map((f) => f.type)
      .sort();
  }
}

function registryKey(capability: string, type: string): string {
  return `${capability}\u0000${type}`;
}

/** The registry of every adapter this build of Ottavo ships. */
export function createDefaultRegistry(): AdapterRegistry {
  return new AdapterRegistry([...memoryAdapters, ...localAdapters, ...httpAdapters, ...redisAdapters, ...etcdAdapters, ...kafkaAdapters]);
}
