import type { CapabilityComponents, CapabilityKind } from "@ottavo/generated/components/registry";
import type { RawMetadata } from "@ottavo/component-runtime";

/** One running component: its name in the config, its adapter type and the instance. */
export interface ComponentEntry<K extends CapabilityKind = CapabilityKind> {
  readonly capability: K;
  readonly name: string;
  readonly type: string;
  readonly component: CapabilityComponents[K];
  /** The metadata as configured (after Layotto's top-level keys were folded in); never logged. */
  readonly metadata: RawMetadata;
}

/**
 * The components the runtime built from its config, by capability and name.
 * Handlers look components up here; the table knows nothing about any backend.
 */
export class ComponentTable {
  private readonly byCapability = new Map<CapabilityKind, Map<string, ComponentEntry>>();

  constructor(readonly appId: string) {}

  add<K extends CapabilityKind>(entry: ComponentEntry<K>): void {
    let named = this.byCapability.get(entry.capability);
    if (!named) this.byCapability.set(entry.capability, (named = new Map()));
    if (named.has(entry.name)) throw new Error(`two ${entry.capability} components are named '${entry.name}'`);
    named.set(entry.name, entry);
  }

  /** The component of that capability and name, or undefined. */
  get<K extends CapabilityKind>(capability: K, name: string): ComponentEntry<K> | undefined {
    return this.byCapability.get(capability)?.get(name) as ComponentEntry<K> | undefined;
  }

  /** Every component of a capability, in config order. */
  list<K extends CapabilityKind>(capability: K): ComponentEntry<K>[] {
    return [...(this.byCapability.get(capability)?.values() ?? [])] as ComponentEntry<K>[];
  }

  /** Every component, in config order per capability. */
  all(): ComponentEntry[] {
    return [...this.byCapability.values()].flatMap((named) => [...named.values()]);
  }
}
