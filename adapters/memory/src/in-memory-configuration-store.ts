import { clone, create } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@ottavo/generated/components/errors";
import type { Subscription } from "@ottavo/component-runtime";
import type {
  ConfigurationStoreSync,
  Change,
  ChangeHandler,
  ItemsRequest,
  SaveRequest,
} from "@ottavo/generated/components/configuration";
import {
  defineInMemoryConfigurationAdapter,
  inMemoryConfigurationFeatures,
  type InMemoryConfiguration,
  type InMemoryConfigurationMetadata,
} from "@ottavo/generated/components/adapters/in-memory";
import {
  ConfigurationItemSchema,
  type ConfigurationItem,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { SerialDelivery } from "@ottavo/adapter-kit";

/**
 * The "in-memory" configuration store: items keyed by app, group, label and key,
 * in this process. Blank group and label mean the configured defaults, and items
 * are answered with them filled in.
 *
 * Subscribers hear of every save and of every delete that removed something, once
 * per call, with only the items of that call they watch (a deleted item comes with
 * empty content). Nothing is sent on subscribe itself. Each subscription receives
 * its changes one at a time, in order; a handler that throws loses only that
 * change, never the store or other subscribers. Delete with no keys deletes
 * nothing: it names the items to delete, and naming none must not wipe a group.
 */
export class InMemoryConfigurationStore implements InMemoryConfiguration {
  readonly features = new Set(inMemoryConfigurationFeatures);

  /** scope (app, group, label) -> key -> item; stored items are never handed out. */
  private readonly scopes = new Map<string, Map<string, ConfigurationItem>>();
  private readonly subscriptions = new Set<ConfigurationSubscription>();

  constructor(private readonly defaults: InMemoryConfigurationMetadata) {}

  /** Reads, saves and deletes answer at once: the same work, synchronously (subscribing has no such form). */
  readonly sync: ConfigurationStoreSync = {
    get: (request) => this.read(request),
    save: (request) => this.write(request),
    delete: (request) => this.remove(request),
  };

  async get(request: ItemsRequest): Promise<ConfigurationItem[]> {
    return this.read(request);
  }

  async save(request: SaveRequest): Promise<void> {
    this.write(request);
  }

  async delete(request: ItemsRequest): Promise<void> {
    this.remove(request);
  }

  private read(request: ItemsRequest): ConfigurationItem[] {
    const items = this.scopes.get(this.scopeOf(request).id);
    if (items === undefined) return [];
    const keys = request.keys.length > 0 ? new Set(request.keys) : [...items.keys()].sort();
    const found: ConfigurationItem[] = [];
    for (const key of keys) {
      const item = items.get(key);
      if (item !== undefined) found.push(clone(ConfigurationItemSchema, item));
    }
    return found;
  }

  private write(request: SaveRequest): void {
    request.items.forEach((item, i) => {
      if (item.key === "") {
        throw new InvalidArgumentError(`configuration item ${i + 1} has an empty key; every item needs one`);
      }
    });
    const changed: ScopedItem[] = [];
    for (const given of request.items) {
      const scope = this.scopeOf({ appId: request.appId, group: given.group, label: given.label });
      const item = create(ConfigurationItemSchema, {
        key: given.key,
        content: given.content,
        group: scope.group,
        label: scope.label,
        tags: { ...given.tags },
        metadata: { ...given.metadata },
      });
      this.itemsOf(scope.id).set(item.key, item);
      changed.push({ scope: scope.id, item });
    }
    this.notify(request.appId, changed);
  }

  private remove(request: ItemsRequest): void {
    const scope = this.scopeOf(request);
    const items = this.scopes.get(scope.id);
    if (items === undefined) return;
    const changed: ScopedItem[] = [];
    for (const key of new Set(request.keys)) {
      if (!items.delete(key)) continue;
      const item = create(ConfigurationItemSchema, { key, content: "", group: scope.group, label: scope.label });
      changed.push({ scope: scope.id, item });
    }
    if (items.size === 0) this.scopes.delete(scope.id);
    this.notify(request.appId, changed);
  }

  async subscribe(request: ItemsRequest, handler: ChangeHandler): Promise<Subscription> {
    const subscription = new ConfigurationSubscription(
      this.scopeOf(request).id,
      new Set(request.keys),
      handler,
      (s) => this.subscriptions.delete(s),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }

  /** Tells each subscription the items of one call it watches, as one change. */
  private notify(appId: string, changed: readonly ScopedItem[]): void {
    if (changed.length === 0) return;
    for (const subscription of this.subscriptions) {
      // A key saved twice in one call is reported once, as it ended up.
      const watched = new Map<string, ConfigurationItem>();
      for (const { scope, item } of changed) {
        if (subscription.watches(scope, item.key)) watched.set(item.key, item);
      }
      if (watched.size === 0) continue;
      // Each subscriber gets its own copies, so one handler cannot alter what another sees.
      const items = [...watched.values()].map((item) => clone(ConfigurationItemSchema, item));
      subscription.deliver({ appId, items });
    }
  }

  private itemsOf(scope: string): Map<string, ConfigurationItem> {
    let items = this.scopes.get(scope);
    if (items === undefined) {
      items = new Map();
      this.scopes.set(scope, items);
    }
    return items;
  }

  private scopeOf(request: { appId: string; group: string; label: string }): Scope {
    const group = request.group === "" ? this.defaults.defaultGroup : request.group;
    const label = request.label === "" ? this.defaults.defaultLabel : request.label;
    // JSON keeps the parts apart whatever characters they hold.
    return { id: JSON.stringify([request.appId, group, label]), group, label };
  }
}

/** The "in-memory" configuration adapter, as the registry holds it. */
export const inMemoryConfigurationAdapter = defineInMemoryConfigurationAdapter(
  async (metadata) => new InMemoryConfigurationStore(metadata),
);

interface Scope {
  readonly id: string;
  readonly group: string;
  readonly label: string;
}

interface ScopedItem {
  readonly scope: string;
  readonly item: ConfigurationItem;
}

/** One subscriber: a queue of changes handed to its handler one at a time. */
class ConfigurationSubscription implements Subscription {
  private readonly queue: SerialDelivery<Change>;

  constructor(
    private readonly scope: string,
    /** Empty means every key of the scope. */
    private readonly keys: ReadonlySet<string>,
    handler: ChangeHandler,
    private readonly onClose: (subscription: ConfigurationSubscription) => void,
  ) {
    this.queue = new SerialDelivery(handler);
  }

  watches(scope: string, key: string): boolean {
    return scope === this.scope && (this.keys.size === 0 || this.keys.has(key));
  }

  deliver(change: Change): void {
    this.queue.push(change);
  }

  async close(): Promise<void> {
    this.queue.close();
    this.onClose(this);
  }

}
