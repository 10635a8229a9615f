import { Code, ConnectError } from "@connectrpc/connect";
import type { MetadataFieldSpec, RawMetadata } from "@ottavo/component-runtime";
import type { ComponentEntry } from "../registry/component-table";
import { invalidArgument } from "../errors/error-mapping";

/** What joins a prefix to a key; user keys may not contain it, as in Layotto and Dapr. */
export const keySeparator = "||";

/**
 * How a capability scopes keys, after Layotto's pkg/runtime/{state,lock,sequencer}:
 * the component's metadata `keyPrefix` is "appid" (the app id, or nothing when the
 * runtime has none), "name" (the component's name), "none", or any other text used
 * as the prefix itself. Layotto lower-cases the setting, literal prefixes included,
 * and so do we, so that both runtimes read and write the same backend keys.
 */
export type KeyPrefixStrategy = "appid" | "name" | "none";

/**
 * The keyPrefix default a capability's own metadata declares in spec/components
 * (lock and sequencer: "appid"; state: "none", as in Layotto), so the kernel does
 * not restate it. Every adapter of those capabilities accepts keyPrefix, vendors'
 * included (the registry validates it against the capability's fields).
 */
export function declaredKeyPrefixDefault(fields: readonly MetadataFieldSpec[]): string {
  const declared = fields.find((field) => field.name === "keyPrefix")?.default;
  if (typeof declared !== "string") throw new Error("the metadata group declares no keyPrefix default");
  return declared;
}

export class KeyScope {
  /** Per component entry, the whole prefix (API part included); computed once. */
  private readonly prefixes = new WeakMap<ComponentEntry, string>();

  /**
   * @param appId the runtime's app id
   * @param apiPrefix what Layotto puts before every key of the API ("lock|||", "sequencer|||", "" for state)
   * @param defaultStrategy the strategy when the metadata gives none
   * @param storeLabel names the component kind in errors, e.g. "lock store"
   */
  constructor(
    private readonly appId: string,
    private readonly apiPrefix: string,
    private readonly defaultStrategy: KeyPrefixStrategy | string,
    private readonly storeLabel: string,
  ) {}

  /** The backend key for a caller's key; INVALID_ARGUMENT when the key contains "||". */
  scope(entry: ComponentEntry, key: string): string {
    checkKey(key);
    return this.prefixOf(entry) + key;
  }

  /** The caller's key back from a backend key this scope produced. */
  unscope(entry: ComponentEntry, scopedKey: string): string {
    const prefix = this.prefixOf(entry);
    return scopedKey.startsWith(prefix) ? scopedKey.slice(prefix.length) : scopedKey;
  }

  prefixOf(entry: ComponentEntry): string {
    let prefix = this.prefixes.get(entry);
    if (prefix === undefined) {
      prefix = this.prefixFor(entry.name, entry.metadata);
      this.prefixes.set(entry, prefix);
    }
    return prefix;
  }

  /** The whole prefix of a component's keys, from its name and metadata (before it exists, too). */
  prefixFor(name: string, metadata: RawMetadata): string {
    return this.apiPrefix + this.ownerPart(name, metadata);
  }

  private ownerPart(name: string, metadata: RawMetadata): string {
    const raw = metadata.keyPrefix;
    const given = typeof raw === "string" || typeof raw === "number" ? String(raw) : "";
    if (given.includes(keySeparator)) {
      // The kernel should refuse such a config at start; this guards the API if it did not.
      throw new ConnectError(
        `the keyPrefix of ${this.storeLabel} ${name} can't contain '${keySeparator}'`,
        Code.FailedPrecondition,
      );
    }
    const strategy = given === "" ? this.defaultStrategy : given.toLowerCase();
    switch (strategy) {
      case "none":
        return "";
      case "name":
        return name + keySeparator;
      case "appid":
        return this.appId === "" ? "" : this.appId + keySeparator;
      default:
        return strategy + keySeparator;
    }
  }
}

/** Layotto's check on caller keys (checkKeyIllegal), as INVALID_ARGUMENT. */
export function checkKey(key: string): void {
  if (key.includes(keySeparator)) {
    throw invalidArgument(`input key/keyPrefix '${key}' can't contain '${keySeparator}'`);
  }
}
