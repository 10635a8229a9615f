import { create } from "@bufbuild/protobuf";
import type { Subscription } from "@ottavo/component-runtime";
import { SerialDelivery } from "@ottavo/adapter-kit";
import { InvalidArgumentError } from "@ottavo/generated/components/errors";
import type { Change, ChangeHandler, ItemsRequest, SaveRequest } from "@ottavo/generated/components/configuration";
import {
  defineEtcdConfigurationAdapter,
  etcdConfigurationFeatures,
  type EtcdConfiguration,
} from "@ottavo/generated/components/adapters/etcd";
import { ConfigurationItemSchema, type ConfigurationItem } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { IDuplexStream, IKeyValue, IRequestOp, IWatchRequest, IWatchResponse } from "etcd3";
import { EtcdConnection } from "./etcd-connection";
import { etcd3 } from "./etcd3-module";

/** etcd's default --max-txn-ops: a save or delete of more keys takes several transactions. */
const MAX_TXN_OPS = 128;

/**
 * The "etcd" configuration store.
 *
 * Layout (Layotto's): an item is the key `<prefix><appId>/<group>/<label>/<key>`;
 * its value is JSON `{"content", "tags", "metadata"}`, and a value that is not such
 * an object (put by Layotto or etcdctl) reads back as the content. App id, group
 * and label may not contain "/", so the parts never run into each other.
 *
 * Changes: each subscription is an etcd watch on its group and label's key range.
 * Events are grouped by revision (one transaction, one change) and delivered only
 * when their revision is above the last one delivered; when the watch stream is
 * re-established after a lost connection it asks etcd for the revisions after that
 * one. So changes made while etcd or the link was down arrive after the
 * reconnection, in order, once. (etcd3 would resume from the revision of the last
 * response header, which can lie past events not yet replayed.) When etcd has
 * compacted the revisions needed, the watch is cancelled and the subscription
 * reads its keys' current state instead (reporting keys it knew that are gone as
 * deletes), then watches from there.
 */
export class EtcdConfigurationStore implements EtcdConfiguration {
  readonly features = new Set(etcdConfigurationFeatures);
  private readonly subscriptions = new Set<WatchSubscription>();

  constructor(
    private readonly connection: EtcdConnection,
    private readonly defaults: { defaultGroup: string; defaultLabel: string },
  ) {}

  async get(request: ItemsRequest): Promise<ConfigurationItem[]> {
    const scope = this.scopeOf(request);
    const { client } = this.connection;
    if (request.keys.length === 0) {
      const all = await this.connection.call(() => client.getAll().prefix(scope.prefix).exec());
      return all.kvs.map((kv) => readItem(scope, kv));
    }
    const keys = [...new Set(request.keys)];
    const found: ConfigurationItem[] = [];
    for (const chunk of chunks(keys)) {
      const ops: IRequestOp[] = chunk.map((key) => ({ request_range: { key: Buffer.from(scope.prefix + key) } }));
      const answer = await this.connection.call(() => client.kv.txn({ success: ops }));
      for (const response of answer.responses) {
        const kv = response.response_range?.kvs[0];
        if (kv !== undefined) found.push(readItem(scope, kv));
      }
    }
    return found;
  }

  async save(request: SaveRequest): Promise<void> {
    request.items.forEach((item, i) => {
      if (item.key === "") throw new InvalidArgumentError(`configuration item ${i + 1} has an empty key; every item needs one`);
    });
    // A key saved twice in one call ends up as its last item (etcd refuses a key twice in one transaction).
    const writes = new Map<string, string>();
    for (const item of request.items) {
      const scope = this.scopeOf({ appId: request.appId, group: item.group, label: item.label });
      const stored: StoredItem = { content: item.content, tags: { ...item.tags }, metadata: { ...item.metadata } };
      writes.set(scope.prefix + item.key, JSON.stringify(stored));
    }
    const { client } = this.connection;
    for (const chunk of chunks([...writes])) {
      const ops: IRequestOp[] = chunk.map(([key, value]) => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } }));
      await this.connection.call(() => client.kv.txn({ success: ops }));
    }
  }

  async delete(request: ItemsRequest): Promise<void> {
    const scope = this.scopeOf(request);
    const keys = [...new Set(request.keys)];
    const { client } = this.connection;
    for (const chunk of chunks(keys)) {
      const ops: IRequestOp[] = chunk.map((key) => ({ request_delete_range: { key: Buffer.from(scope.prefix + key) } }));
      await this.connection.call(() => client.kv.txn({ success: ops }));
    }
  }

  async subscribe(request: ItemsRequest, handler: ChangeHandler): Promise<Subscription> {
    const scope = this.scopeOf(request);
    // The revision the store is at now and the keys present at it: the watch covers every change after it.
    const now = await this.connection.call(() =>
      this.connection.client.kv.range({ key: Buffer.from(scope.prefix), range_end: prefixEnd(scope.prefix), keys_only: true }),
    );
    const subscription = new WatchSubscription(this.connection, request.appId, scope, new Set(request.keys), handler, (s) =>
      this.subscriptions.delete(s),
    );
    this.subscriptions.add(subscription);
    try {
      const present = now.kvs.map((kv) => kv.key.toString("utf8").slice(scope.prefix.length));
      await subscription.start(BigInt(now.header.revision), present);
    } catch (error) {
      await subscription.close();
      throw this.connection.statusOf(error);
    }
    return subscription;
  }

  health(): Promise<void> {
    return this.connection.health();
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    await this.connection.close();
  }

  private scopeOf(request: { appId: string; group: string; label: string }): Scope {
    const group = request.group === "" ? this.defaults.defaultGroup : request.group;
    const label = request.label === "" ? this.defaults.defaultLabel : request.label;
    for (const [name, part] of [["app id", request.appId], ["group", group], ["label", label]] as const) {
      if (part.includes("/")) {
        throw new InvalidArgumentError(`configuration ${name} '${part}' contains '/', which the etcd store uses between app id, group, label and key`);
      }
    }
    return { group, label, prefix: `${this.connection.prefix}${request.appId}/${group}/${label}/` };
  }
}

/** The "etcd" configuration adapter, as the registry holds it. */
export const etcdConfigurationAdapter = defineEtcdConfigurationAdapter(
  async (metadata, context) => new EtcdConfigurationStore(EtcdConnection.open(metadata, metadata.keyPrefixPath, context), metadata),
);

interface Scope {
  readonly group: string;
  readonly label: string;
  /** `<prefix><appId>/<group>/<label>/`: every item key of the scope starts with it. */
  readonly prefix: string;
}

/** An item as its etcd value holds it. */
interface StoredItem {
  content: string;
  tags: Record<string, string>;
  metadata: Record<string, string>;
}

/**
 * One subscription: its own etcd watch stream on its scope, the last revision
 * delivered, and a queue handing changes to the handler one at a time.
 *
 * The watch stream is driven here rather than through etcd3's watch manager, which
 * resumes from the revision of the last response header (past events a replay had
 * not reached yet) and, when etcd cancels a watch whose start revision was
 * compacted, leaves its attach queue waiting for an answer that never comes.
 */
class WatchSubscription implements Subscription {
  private readonly queue: SerialDelivery<Change>;
  private stream: WatchStream | undefined;
  /** The last revision whose changes were handed to the queue (or held none for this subscription). */
  private last = 0n;
  /**
   * The watched keys that exist as of `last`: after a compacted gap, those no
   * longer present were deleted in it and are reported as deletes.
   */
  private readonly known = new Set<string>();
  private closed = false;
  /** The pause before the next attempt to re-establish the watch. */
  private pause = FIRST_PAUSE_MS;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: EtcdConnection,
    private readonly appId: string,
    private readonly scope: Scope,
    /** Empty means every key of the scope. */
    private readonly keys: ReadonlySet<string>,
    handler: ChangeHandler,
    private readonly onClose: (subscription: WatchSubscription) => void,
  ) {
    this.queue = new SerialDelivery(handler);
  }

  /**
   * Watches the revisions after `after`, when `present` are the scope's keys;
   * resolves once etcd has confirmed the watch, rejects if it could not.
   */
  start(after: bigint, present: readonly string[]): Promise<void> {
    this.last = after;
    for (const key of present) if (this.watches(key)) this.known.add(key);
    return this.attach();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    this.queue.close();
    this.onClose(this);
    // Cancelled locally: with etcd stopped, a cancel request would wait for it to come back.
    const stream = this.stream;
    this.stream = undefined;
    if (stream !== undefined) drop(stream);
  }

  /** Opens a watch stream asking for the revisions after the last delivered; settles with etcd's answer to the create. */
  private async attach(): Promise<void> {
    const stream = await this.connection.client.watchClient.watch();
    if (this.closed) {
      drop(stream);
      return;
    }
    this.stream = stream;
    return new Promise<void>((resolve, reject) => {
      let created = false;
      // etcd answers a create at once; no answer (a frozen etcd, a dead link) counts as a failure.
      const unanswered = setTimeout(
        () => fail(new (etcd3().GRPCDeadlineExceededError)(`etcd did not confirm the watch within ${this.connection.requestTimeout} ms`)),
        this.connection.requestTimeout,
      );
      const fail = (error: Error) => {
        clearTimeout(unanswered);
        if (this.stream !== stream) return;
        this.stream = undefined;
        drop(stream);
        if (created) this.reattachLater();
        else reject(this.connection.statusOf(etcd3().castGrpcError(error)));
      };
      stream.on("data", (response: IWatchResponse) => {
        if (this.stream !== stream) return;
        if (response.canceled) {
          if (response.compact_revision !== "0" && response.compact_revision !== "") {
            clearTimeout(unanswered);
            this.stream = undefined;
            drop(stream);
            created = true;
            resolve();
            void this.resync();
          } else {
            fail(etcd3().castGrpcErrorMessage(`etcd cancelled the watch: ${response.cancel_reason}`));
          }
          return;
        }
        if (response.created) {
          clearTimeout(unanswered);
          created = true;
          this.pause = FIRST_PAUSE_MS;
          resolve();
        }
        this.take(response);
      });
      stream.on("error", (error: Error) => fail(error));
      stream.on("end", () => fail(new Error("etcd ended the watch stream")));
      stream.write({
        create_request: {
          key: Buffer.from(this.scope.prefix),
          range_end: prefixEnd(this.scope.prefix),
          start_revision: (this.last + 1n).toString(),
        },
      });
    });
  }

  /** After a lost stream: tries again after a pause that doubles up to MAX_PAUSE_MS. */
  private reattachLater(): void {
    if (this.closed) return;
    const pause = this.pause;
    this.pause = Math.min(pause * 2, MAX_PAUSE_MS);
    this.retry = setTimeout(() => {
      this.attach().catch(() => this.reattachLater());
    }, pause);
  }

  /** Hands the changes of one watch response to the queue, one per revision above the last. */
  private take(response: IWatchResponse): void {
    if (this.closed) return;
    let revision: bigint | undefined;
    let items: ConfigurationItem[] = [];
    const flush = () => {
      if (revision === undefined) return;
      if (revision > this.last) {
        this.last = revision;
        for (const item of items) {
          if (deleted.has(item.key)) this.known.delete(item.key);
          else this.known.add(item.key);
        }
        if (items.length > 0) this.queue.push({ appId: this.appId, items });
      }
      items = [];
      deleted.clear();
    };
    /** The keys of `items` that were deleted (not put, even with empty content). */
    const deleted = new Set<string>();
    for (const event of response.events) {
      const at = BigInt(event.kv.mod_revision);
      if (at !== revision) {
        flush();
        revision = at;
      }
      const key = event.kv.key.toString("utf8").slice(this.scope.prefix.length);
      if (!this.watches(key)) continue;
      // A key written twice in one revision cannot happen (etcd refuses it), so items stay unique.
      if (event.type === "Delete") deleted.add(key);
      items.push(
        event.type === "Delete"
          ? create(ConfigurationItemSchema, { key, content: "", group: this.scope.group, label: this.scope.label })
          : readItem(this.scope, event.kv),
      );
    }
    flush();
  }

  /**
   * After etcd compacted the revisions the watch needed: reads the scope, delivers
   * what changed since the last revision as one change (keys written since, and
   * keys that existed then and are gone now as deletes, with empty content, as a
   * delete is delivered), and watches on from the revision read. Tries again while
   * etcd is unreachable.
   */
  private async resync(): Promise<void> {
    for (let pause = FIRST_PAUSE_MS; !this.closed; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
      try {
        const all = await this.connection.client.getAll().prefix(this.scope.prefix).exec();
        if (this.closed) return;
        const present = new Map(all.kvs.map((kv) => [kv.key.toString("utf8").slice(this.scope.prefix.length), kv]));
        const items: ConfigurationItem[] = [];
        for (const [key, kv] of present) {
          if (this.watches(key) && BigInt(kv.mod_revision) > this.last) items.push(readItem(this.scope, kv));
        }
        for (const key of this.known) {
          if (!present.has(key)) items.push(create(ConfigurationItemSchema, { key, content: "", group: this.scope.group, label: this.scope.label }));
        }
        if (items.length > 0) this.queue.push({ appId: this.appId, items });
        this.last = BigInt(all.header.revision);
        this.known.clear();
        for (const key of present.keys()) if (this.watches(key)) this.known.add(key);
        await this.attach();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  private watches(key: string): boolean {
    return this.keys.size === 0 || this.keys.has(key);
  }
}

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/**
 * Ends a watch stream here. Its writable side is ended first: etcd3 takes a
 * CANCELLED error on a stream still writable for a broken connection and closes
 * every channel of the client, which failed calls under way ("Channel closed
 * before call started", UNAVAILABLE) and restarted the other subscriptions' watches.
 */
function drop(stream: WatchStream): void {
  // A grpc-js duplex stream at run time; etcd3's type does not show `writable`.
  if ((stream as WatchStream & { readonly writable?: boolean }).writable !== false) stream.end();
  stream.cancel();
}

const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 2_000;

/** The end of the key range of every key starting with `prefix` (its last byte raised by one; prefixes here end in "/"). */
function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1] = end[end.length - 1]! + 1;
  return end;
}

function readItem(scope: Scope, kv: IKeyValue): ConfigurationItem {
  const key = kv.key.toString("utf8").slice(scope.prefix.length);
  return create(ConfigurationItemSchema, { key, group: scope.group, label: scope.label, ...parseStored(kv.value.toString("utf8")) });
}

/** A stored JSON item; any other value (Layotto's, or put by hand) is the content itself. */
function parseStored(value: string): StoredItem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { content: value, tags: {}, metadata: {} };
  }
  if (isRecord(parsed) && typeof parsed.content === "string") {
    return { content: parsed.content, tags: stringMap(parsed.tags), metadata: stringMap(parsed.metadata) };
  }
  return { content: value, tags: {}, metadata: {} };
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

function chunks<T>(all: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < all.length; i += MAX_TXN_OPS) out.push(all.slice(i, i + MAX_TXN_OPS));
  return out;
}
