import { create } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@ottavo/generated/components/errors";
import type { CallContext, Subscription } from "@ottavo/component-runtime";
import type { Change, ChangeHandler, ItemsRequest, SaveRequest } from "@ottavo/generated/components/configuration";
import {
  defineRedisConfigurationAdapter,
  redisConfigurationFeatures,
  type RedisConfiguration,
} from "@ottavo/generated/components/adapters/redis";
import { ConfigurationItemSchema, type ConfigurationItem } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { Redis } from "ioredis";
import { RedisConnection } from "./redis-connection";
import { RedisScript, type ScriptArgument } from "./redis-script";
import { SerialDelivery } from "@ottavo/adapter-kit";

/**
 * The "redis" configuration store.
 *
 * Layout: the items of one app, group and label are one hash,
 * `<keyPrefix>|<appId>|<group>|<label>`, whose fields are the item keys and whose
 * values are JSON objects `{"content": ..., "tags": {...}, "metadata": {...}}`.
 * A value that is not such an object (written by hand with redis-cli HSET) reads
 * back as the content itself. "%" and "|" inside app, group and label are written
 * %25 and %7C, so the parts never run into each other. Blank group and label mean
 * the configured defaults ("default"), and items are answered with them filled in.
 * A hash per scope makes "every item of the group and label" one HGETALL, and a
 * save or delete of several keys one atomic script.
 *
 * Changes: every save and every delete that removed something publishes, from the
 * same Lua script that writes, on `<keyPrefix>|changes|<appId>|<group>|<label>`,
 * a JSON message: `{"saved": [{key, content, tags, metadata}...]}` or
 * `{"deleted": [key...]}`. Because the publish is part of the write, subscribers
 * see changes in the order they were applied and none slips between write and
 * notification. Subscribers listen on one extra connection per component, shared
 * by all its subscriptions; each subscription hears only the keys it watches (a
 * deleted item comes with empty content), one change at a time.
 *
 * Why a change channel rather than keyspace notifications (Dapr's choice):
 * notifications must be switched on in the server config (managed Redis often
 * forbids CONFIG SET), they say only that a key changed (not which hash field, nor
 * its value), so every event would need a read racing the next write. The
 * channel carries the change itself. Like notifications it is fire-and-forget:
 * changes made while a subscriber's connection is down are not replayed.
 */
export class RedisConfigurationStore implements RedisConfiguration {
  readonly features = new Set(redisConfigurationFeatures);

  /** Subscriptions by channel; a channel is subscribed while it has one. */
  private readonly channels = new Map<string, Channel>();
  /** The subscriber connection the message listener is on (a failed first connect makes a new one). */
  private listeningOn: Redis | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly settings: { keyPrefix: string; defaultGroup: string; defaultLabel: string },
  ) {
    saveScript.define(connection.client);
    deleteScript.define(connection.client);
  }

  async get(request: ItemsRequest, context?: CallContext): Promise<ConfigurationItem[]> {
    const scope = this.scopeOf(request);
    const client = this.connection.client;
    if (request.keys.length > 0) {
      const keys = [...new Set(request.keys)];
      const values = await this.connection.call(() => client.hmget(scope.hash, ...keys), context);
      return keys.flatMap((key, i) => {
        const value = values[i];
        return value === null || value === undefined ? [] : [readItem(key, value, scope)];
      });
    }
    const all = await this.connection.call(() => client.hgetall(scope.hash), context);
    return Object.keys(all)
      .sort()
      .map((key) => readItem(key, all[key], scope));
  }

  async save(request: SaveRequest, context?: CallContext): Promise<void> {
    request.items.forEach((item, i) => {
      if (item.key === "") {
        throw new InvalidArgumentError(`configuration item ${i + 1} has an empty key; every item needs one`);
      }
    });
    if (request.items.length === 0) return;
    // Items grouped by scope; a key saved twice in one call ends up as its last item.
    const scopes = new Map<string, { scope: Scope; items: Map<string, StoredItem> }>();
    for (const item of request.items) {
      const scope = this.scopeOf({ appId: request.appId, group: item.group, label: item.label });
      let entry = scopes.get(scope.hash);
      if (entry === undefined) scopes.set(scope.hash, (entry = { scope, items: new Map() }));
      entry.items.set(item.key, { content: item.content, tags: { ...item.tags }, metadata: { ...item.metadata } });
    }
    const keys: string[] = [];
    const writes: ScriptArgument[] = [];
    const publishes: ScriptArgument[] = [];
    let count = 0;
    for (const { scope, items } of scopes.values()) {
      keys.push(scope.hash);
      const saved: SavedItem[] = [];
      for (const [key, stored] of items) {
        writes.push(keys.length, key, JSON.stringify(stored));
        saved.push({ key, ...stored });
        count++;
      }
      publishes.push(scope.channel, JSON.stringify({ saved } satisfies ChangeMessage));
    }
    await this.connection.call(() =>
      saveScript.run(this.connection.client, keys, [count, ...writes, ...publishes]),
      context,
    );
  }

  async delete(request: ItemsRequest, context?: CallContext): Promise<void> {
    const keys = [...new Set(request.keys)];
    if (keys.length === 0) return;
    const scope = this.scopeOf(request);
    await this.connection.call(() => deleteScript.run(this.connection.client, [scope.hash], [scope.channel, ...keys]), context);
  }

  async subscribe(request: ItemsRequest, handler: ChangeHandler): Promise<Subscription> {
    const scope = this.scopeOf(request);
    const subscriber = await this.connection.subscriber();
    if (this.listeningOn !== subscriber) {
      this.listeningOn = subscriber;
      subscriber.on("message", (channel: string, message: string) => this.dispatch(channel, message));
    }
    let channel = this.channels.get(scope.channel);
    if (channel === undefined) {
      const name = scope.channel;
      const members = new Set<ConfigurationSubscription>();
      const subscribed = this.connection.call(() => subscriber.subscribe(name)).then(() => undefined);
      channel = { members, subscribed };
      this.channels.set(name, channel);
      // A failed SUBSCRIBE forgets the channel, so the next subscribe tries again.
      subscribed.catch(() => {
        if (this.channels.get(name)?.subscribed === subscribed) this.channels.delete(name);
      });
    }
    const subscription = new ConfigurationSubscription(request.appId, scope, new Set(request.keys), handler, (s) =>
      this.forget(subscriber, scope.channel, s),
    );
    channel.members.add(subscription);
    try {
      // Resolves once Redis confirmed the channel: no change after this call is missed.
      await channel.subscribed;
    } catch (error) {
      channel.members.delete(subscription);
      throw error;
    }
    return subscription;
  }

  health(): Promise<void> {
    return this.connection.health();
  }

  async close(): Promise<void> {
    const all = [...this.channels.values()].flatMap((channel) => [...channel.members]);
    await Promise.all(all.map((subscription) => subscription.close()));
    await this.connection.close();
  }

  /** Hands one published change to the subscriptions of its channel. */
  private dispatch(channelName: string, message: string): void {
    const channel = this.channels.get(channelName);
    if (channel === undefined || channel.members.size === 0) return;
    const change = parseChange(message);
    if (change === undefined) return;
    for (const subscription of channel.members) subscription.offer(change);
  }

  private forget(subscriber: Redis, channelName: string, subscription: ConfigurationSubscription): void {
    const channel = this.channels.get(channelName);
    if (channel === undefined || !channel.members.delete(subscription) || channel.members.size > 0) return;
    this.channels.delete(channelName);
    // Best effort: while Redis is down the UNSUBSCRIBE fails and the connection may
    // resubscribe the channel when it reconnects; its messages then find no member.
    subscriber.unsubscribe(channelName).catch(() => {});
  }

  private scopeOf(request: { appId: string; group: string; label: string }): Scope {
    const group = request.group === "" ? this.settings.defaultGroup : request.group;
    const label = request.label === "" ? this.settings.defaultLabel : request.label;
    const parts = `${escapePart(request.appId)}|${escapePart(group)}|${escapePart(label)}`;
    return {
      group,
      label,
      hash: `${this.settings.keyPrefix}|${parts}`,
      channel: `${this.settings.keyPrefix}|changes|${parts}`,
    };
  }
}

/** The "redis" configuration adapter, as the registry holds it. */
export const redisConfigurationAdapter = defineRedisConfigurationAdapter(
  async (metadata, context) =>
    new RedisConfigurationStore(await RedisConnection.open(metadata, { componentName: context.componentName }), metadata),
);

/**
 * KEYS: the scope hashes. ARGV[1]: the number n of items; then per item its scope
 * (an index into KEYS), key and JSON value; then per scope its channel and message.
 * Writes every item, then publishes one message per scope.
 */
const saveScript = new RedisScript(
  "ottavoConfigurationSave",
  `
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  local base = 2 + i * 3
  redis.call('HSET', KEYS[tonumber(ARGV[base])], ARGV[base + 1], ARGV[base + 2])
end
local base = 2 + n * 3
for s = 0, #KEYS - 1 do
  redis.call('PUBLISH', ARGV[base + s * 2], ARGV[base + s * 2 + 1])
end
return n
`,
);

/**
 * KEYS[1]: the scope hash. ARGV[1]: its channel; ARGV[2..]: the keys to delete.
 * Publishes the keys that existed, if any; answers how many were deleted.
 */
const deleteScript = new RedisScript(
  "ottavoConfigurationDelete",
  `
local deleted = {}
for i = 2, #ARGV do
  if redis.call('HDEL', KEYS[1], ARGV[i]) == 1 then deleted[#deleted + 1] = ARGV[i] end
end
if #deleted > 0 then redis.call('PUBLISH', ARGV[1], cjson.encode({deleted = deleted})) end
return #deleted
`,
);

interface Scope {
  readonly group: string;
  readonly label: string;
  /** The Redis hash of the scope's items. */
  readonly hash: string;
  /** The channel its changes are published on. */
  readonly channel: string;
}

interface Channel {
  readonly members: Set<ConfigurationSubscription>;
  /** Settles once Redis has confirmed (or refused) the SUBSCRIBE. */
  readonly subscribed: Promise<void>;
}

/** An item as its hash field holds it. */
interface StoredItem {
  content: string;
  tags: Record<string, string>;
  metadata: Record<string, string>;
}

interface SavedItem extends StoredItem {
  key: string;
}

/** What a change message holds: saved items or deleted keys. */
interface ChangeMessage {
  saved?: SavedItem[];
  deleted?: string[];
}

function escapePart(part: string): string {
  return part.replace(/%/g, "%25").replace(/\|/g, "%7C");
}

function readItem(key: string, value: string, scope: Scope): ConfigurationItem {
  const stored = parseStored(value);
  return create(ConfigurationItemSchema, { key, group: scope.group, label: scope.label, ...stored });
}

/** A stored JSON item; any other value (set by hand) is the content itself. */
function parseStored(value: string): StoredItem {
  const parsed = parseJson(value);
  if (isRecord(parsed) && typeof parsed.content === "string") {
    return { content: parsed.content, tags: stringMap(parsed.tags), metadata: stringMap(parsed.metadata) };
  }
  return { content: value, tags: {}, metadata: {} };
}

/** A change message, or undefined when it is not one of ours (someone else published there). */
function parseChange(message: string): ChangeMessage | undefined {
  const parsed = parseJson(message);
  if (!isRecord(parsed)) return undefined;
  const saved = Array.isArray(parsed.saved)
    ? parsed.saved.filter(isRecord).flatMap((item): SavedItem[] =>
        typeof item.key === "string" && typeof item.content === "string"
          ? [{ key: item.key, content: item.content, tags: stringMap(item.tags), metadata: stringMap(item.metadata) }]
          : [],
      )
    : [];
  // cjson encodes an empty list as {}: only arrays carry keys.
  const deleted = Array.isArray(parsed.deleted) ? parsed.deleted.filter((k): k is string => typeof k === "string") : [];
  return saved.length > 0 || deleted.length > 0 ? { saved, deleted } : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  const map: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") map[k] = v;
  return map;
}

/** One subscriber: its watched keys, and a queue of changes handed to its handler one at a time. */
class ConfigurationSubscription implements Subscription {
  private readonly queue: SerialDelivery<Change>;

  constructor(
    private readonly appId: string,
    private readonly scope: Scope,
    /** Empty means every key of the scope. */
    private readonly keys: ReadonlySet<string>,
    handler: ChangeHandler,
    private readonly onClose: (subscription: ConfigurationSubscription) => void,
  ) {
    this.queue = new SerialDelivery(handler);
  }

  /** Queues the part of a change this subscription watches, if any. */
  offer(message: ChangeMessage): void {
        const items: ConfigurationItem[] = [];
    const { group, label } = this.scope;
    for (const saved of message.saved ?? []) {
      if (!this.watches(saved.key)) continue;
      items.push(create(ConfigurationItemSchema, { ...saved, group, label }));
    }
    for (const key of message.deleted ?? []) {
      if (this.watches(key)) items.push(create(ConfigurationItemSchema, { key, content: "", group, label }));
    }
    if (items.length === 0) return;
    this.queue.push({ appId: this.appId, items });
  }

  async close(): Promise<void> {
        this.queue.close();
    this.onClose(this);
  }

  private watches(key: string): boolean {
    return this.keys.size === 0 || this.keys.has(key);
  }

}
