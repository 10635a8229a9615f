import {
  EtagInvalidError,
  EtagMismatchError,
  type BulkGetItem,
  type BulkGetRequest,
  type Concurrency,
  type DeleteRequest,
  type GetRequest,
  type GetResponse,
  type SetRequest,
  type StateStoreSync,
  type TransactionOperation,
  type TransactRequest,
} from "@ottavo/generated/components/state";
import {
  defineInMemoryStateAdapter,
  inMemoryStateFeatures,
  type InMemoryState,
} from "@ottavo/generated/components/adapters/in-memory";
import { systemClock, type Clock } from "./clock";

/** The answers' empty parts, shared by every read (nothing can be written into them). */
const noData = new Uint8Array(0);
const noMetadata: Record<string, string> = Object.freeze({});

/**
 * The "in-memory" state store: items live in this process and vanish with it.
 *
 * Etags are decimal versions: the first save of a key answers "1" and each later
 * save adds one; a delete (or expiry) forgets the key, so its next save is "1"
 * again, as with Redis. Single operations, bulk operations and transactions are
 * all applied atomically: every check runs against the state as the preceding
 * operations leave it, and only when all pass is anything written. Values are
 * copied in and out, so callers may reuse their buffers.
 */
export class InMemoryStateStore implements InMemoryState {
  readonly features = new Set(inMemoryStateFeatures);

  private readonly items = new Map<string, StoredItem>();
  /** Keys with an expiry, so the sweep never walks items that cannot expire. */
  private readonly expiring = new Set<string>();
  private readonly now: Clock;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: InMemoryStateStoreOptions = {}) {
    this.now = options.now ?? systemClock;
    // Reads expire items lazily; the sweep only bounds memory held by keys nobody reads again.
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweeper.unref();
  }

  /** Every operation answers at once: the same work, synchronously. */
  readonly sync: StateStoreSync = {
    get: (request) => this.read(request.key),
    set: (request) => this.apply([{ set: request }], () => ""),
    delete: (request) => this.apply([{ delete: request }], () => ""),
    bulkGet: (request) => request.keys.map((key) => ({ key, ...this.read(key) })),
    bulkSet: (requests) => this.apply(requests.map((set) => ({ set })), () => "bulk set: "),
    bulkDelete: (requests) => this.apply(requests.map((del) => ({ delete: del })), () => "bulk delete: "),
    transact: (request) => this.apply(request.operations, (i) => `transaction operation ${i + 1}: `),
  };

  async get(request: GetRequest): Promise<GetResponse> {
    return this.read(request.key);
  }

  async set(request: SetRequest): Promise<void> {
    this.apply([{ set: request }], () => "");
  }

  async delete(request: DeleteRequest): Promise<void> {
    this.apply([{ delete: request }], () => "");
  }

  async bulkGet(request: BulkGetRequest): Promise<BulkGetItem[]> {
    return request.keys.map((key) => ({ key, ...this.read(key) }));
  }

  /** Atomic here, although the contract allows partial bulk writes. */
  async bulkSet(requests: SetRequest[]): Promise<void> {
    this.apply(requests.map((set) => ({ set })), () => "bulk set: ");
  }

  /** Atomic here, although the contract allows partial bulk deletes. */
  async bulkDelete(requests: DeleteRequest[]): Promise<void> {
    this.apply(requests.map((del) => ({ delete: del })), () => "bulk delete: ");
  }

  /** Each operation is exactly one of set and delete (a union in state.cap, checked by the adapter binding). */
  async transact(request: TransactRequest): Promise<void> {
    this.apply(request.operations, (i) => `transaction operation ${i + 1}: `);
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private read(key: string): GetResponse {
    const item = this.live(key);
    if (item === undefined) return { found: false, data: noData, metadata: noMetadata };
    const metadata: Record<string, string> =
      item.expiresAt === undefined ? noMetadata : { ttlExpireTime: new Date(item.expiresAt).toISOString() };
    return { found: true, data: item.value.slice(), etag: String(item.version), metadata };
  }

  /**
   * Checks every operation against a staged view (the store as the earlier
   * operations leave it), then writes the staged view. Nothing is written when a
   * check throws. `where` names an operation by its index in error messages.
   */
  private apply(operations: readonly Operation[], where: (index: number) => string): void {
    const now = this.now();
    const staged = new Map<string, StoredItem | undefined>();
    const current = (key: string) => (staged.has(key) ? staged.get(key) : this.live(key));
    operations.forEach((op, i) => {
      if (op.set !== undefined) {
        const { key } = op.set;
        const existing = current(key);
        checkConcurrency(key, op.set.etag, op.set.concurrency, existing, where(i));
        // ttlInSeconds is at least -1 (state.cap); 0 and -1 both mean no expiry.
        const ttl = Math.max(op.set.ttlInSeconds ?? 0, 0);
        staged.set(key, {
          // new Uint8Array(view) copies, also when the caller hands a Buffer.
          value: new Uint8Array(op.set.value),
          version: (existing?.version ?? 0) + 1,
          expiresAt: ttl > 0 ? now + ttl * 1000 : undefined,
        });
      } else {
        const { key } = op.delete;
        checkConcurrency(key, op.delete.etag, op.delete.concurrency, current(key), where(i));
        staged.set(key, undefined);
      }
    });
    for (const [key, item] of staged) {
      if (item === undefined) {
        this.items.delete(key);
        this.expiring.delete(key);
      } else {
        this.items.set(key, item);
        if (item.expiresAt === undefined) this.expiring.delete(key);
        else this.expiring.add(key);
      }
    }
  }

  /** The item if it exists and has not expired; an expired item is removed on the way. */
  private live(key: string): StoredItem | undefined {
    const item = this.items.get(key);
    if (item?.expiresAt !== undefined && item.expiresAt <= this.now()) {
      this.items.delete(key);
      this.expiring.delete(key);
      return undefined;
    }
    return item;
  }

  private sweep(): void {
    for (const key of this.expiring) this.live(key);
  }
}

export interface InMemoryStateStoreOptions {
  /** The clock TTLs are measured with; tests move it by hand. */
  now?: Clock;
  /** How often expired items nobody reads are dropped. */
  sweepIntervalMs?: number;
}

/** The "in-memory" state adapter, as the registry holds it. */
export const inMemoryStateAdapter = defineInMemoryStateAdapter(async () => new InMemoryStateStore());

interface StoredItem {
  readonly value: Uint8Array;
  readonly version: number;
  /** Epoch milliseconds; absent when the item never expires. */
  readonly expiresAt: number | undefined;
}

/** A write or a delete, exactly one (state.cap's union). */
type Operation = TransactionOperation;

/**
 * Last-write applies whatever is stored and ignores any etag, as Layotto's stores
 * and Dapr's Redis store do. Under first-write an etag, when given, must name the
 * current version of an existing item; without one the write only inserts. An
 * empty etag counts as none, as in Dapr.
 */
function checkConcurrency(
  key: string,
  etag: string | undefined,
  concurrency: Concurrency,
  existing: StoredItem | undefined,
  where: string,
): void {
  if (concurrency === "LAST_WRITE") return;
  if (etag !== undefined && etag !== "") {
    const version = parseEtag(etag);
    if (version === undefined) {
      throw new EtagInvalidError(
        `${where}etag ${JSON.stringify(etag)} of key '${key}' is not valid: this store's etags are decimal versions such as "1"`,
      );
    }
    if (existing === undefined) {
      throw new EtagMismatchError(`${where}etag "${etag}" given for key '${key}', which does not exist`);
    }
    if (existing.version !== version) {
      throw new EtagMismatchError(
        `${where}etag "${etag}" of key '${key}' is stale: the current etag is "${existing.version}"; read the key again`,
      );
    }
  } else if (existing !== undefined) {
    throw new EtagMismatchError(
      `${where}key '${key}' already exists: first-write without an etag only inserts; give the etag to replace it`,
    );
  }
}

function parseEtag(etag: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(etag)) return undefined;
  const version = Number(etag);
  return Number.isSafeInteger(version) ? version : undefined;
}

