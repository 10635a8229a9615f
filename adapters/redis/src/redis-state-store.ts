import type { CallContext } from "@ottavo/component-runtime";
import {
  EtagInvalidError,
  EtagMismatchError,
  type BulkGetItem,
  type BulkGetRequest,
  type DeleteRequest,
  type GetRequest,
  type GetResponse,
  type SetRequest,
  type TransactionOperation,
  type TransactRequest,
} from "@ottavo/generated/components/state";
import {
  defineRedisStateAdapter,
  redisStateFeatures,
  type RedisState,
} from "@ottavo/generated/components/adapters/redis";
import { RedisConnection } from "./redis-connection";
import { isUnavailable, redisFailure } from "./redis-errors";
import type { ScriptArgument } from "./redis-script";
import { applyScript, argsPerOperation, getScript } from "./state-scripts";

/**
 * The "redis" state store: one hash per key, `data` and `version`, as Dapr's Redis
 * state store keeps them, so both runtimes can share items.
 *
 * Etags are the decimal versions: the first save answers "1", each later save adds
 * one, and a delete (or expiry) forgets the key. Every write, single or many, goes
 * through one Lua script that checks all etag and first-write conditions first and
 * writes only when all hold (state-scripts.ts): set and delete are that script
 * with one operation; bulkSet, bulkDelete and transact send all their operations
 * to one run of it, so they are all or nothing. Reads run a small script per key
 * (pipelined for bulkGet) that also reads a plain string value and the expiry.
 * Single runs go through RedisConnection.script, the connection's cheapest path.
 *
 * ttlInSeconds > 0 sets an expiry (EXPIRE); absent, 0 or -1 leaves the item without
 * one (PERSIST), unless the component's ttlInSeconds metadata gives a default.
 */
export class RedisStateStore implements RedisState {
  readonly features = new Set(redisStateFeatures);

  constructor(
    private readonly connection: RedisConnection,
    /** Seconds applied when a write gives no ttlInSeconds; 0 for none. */
    private readonly defaultTtl: number,
  ) {
    getScript.define(connection.client);
    applyScript.define(connection.client);
  }

  async get(request: GetRequest, context?: CallContext): Promise<GetResponse> {
    const reply = await this.connection.script(getScript, [request.key], noArguments, context, true);
    return readItem(request.key, reply);
  }

  async set(request: SetRequest, context?: CallContext): Promise<void> {
    await this.apply([{ set: request }], () => "", context);
  }

  async delete(request: DeleteRequest, context?: CallContext): Promise<void> {
    await this.apply([{ delete: request }], () => "", context);
  }

  async bulkGet(request: BulkGetRequest, context?: CallContext): Promise<BulkGetItem[]> {
    if (request.keys.length === 0) return [];
    const pipeline = this.connection.client.pipeline();
    for (const key of request.keys) getScript.queueBuffer(pipeline, [key], []);
    const results = await this.connection.call(async () => (await pipeline.exec()) ?? [], context);
    return request.keys.map((key, i): BulkGetItem => {
      const [error, reply] = results[i] ?? [new Error("no reply"), null];
      if (error !== null) {
        // Redis being down is the whole call's failure, not one key's.
        if (isUnavailable(error)) throw redisFailure(error, this.connection.endpoint);
        return { key, found: false, data: new Uint8Array(0), error: error.message, metadata: {} };
      }
      return { key, ...readItem(key, reply) };
    });
  }

  /** All or nothing here, although the contract allows partial bulk writes. */
  async bulkSet(requests: SetRequest[], context?: CallContext): Promise<void> {
    await this.apply(requests.map((set) => ({ set })), () => "bulk set: ", context);
  }

  /** All or nothing here, although the contract allows partial bulk deletes. */
  async bulkDelete(requests: DeleteRequest[], context?: CallContext): Promise<void> {
    await this.apply(requests.map((del) => ({ delete: del })), () => "bulk delete: ", context);
  }

  /** Each operation is exactly one of set and delete (a union in state.cap, checked by the adapter binding). */
  async transact(request: TransactRequest, context?: CallContext): Promise<void> {
    await this.apply(request.operations, (i) => `transaction operation ${i + 1}: `, context);
  }

  health(): Promise<void> {
    return this.connection.health();
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /**
   * Validates every operation here (bad etags and TTLs never reach Redis), then
   * runs the apply script once with all of them and turns a failed check into
   * EtagMismatchError naming the operation. `where` prefixes messages by index.
   */
  private async apply(operations: readonly Operation[], where: (index: number) => string, context: CallContext | undefined): Promise<void> {
    if (operations.length === 0) return;
    const keys: string[] = [];
    const args: ScriptArgument[] = [];
    operations.forEach((op, i) => {
      const request = op.set ?? op.delete;
      // Last-write ignores the etag, as Layotto's and Dapr's Redis stores do.
      const firstWrite = request.concurrency === "FIRST_WRITE" ? "1" : "0";
      const etag = firstWrite === "0" || request.etag === undefined || request.etag === "" ? "" : checkEtag(request.key, request.etag, where(i));
      keys.push(request.key);
      if (op.set !== undefined) {
        const ttl = this.ttlOf(op.set.ttlInSeconds);
        args.push("set", asBuffer(op.set.value), etag, firstWrite, ttl);
      } else {
        args.push("delete", "", etag, firstWrite, 0);
      }
    });
    if (args.length !== keys.length * argsPerOperation) throw new Error("state operation encoding is inconsistent");
    const reply = await this.connection.script(applyScript, keys, args, context, false);
    const [failed, current] = readPair(reply);
    if (failed === 0) return;
    const op = operations[failed - 1];
    const request = op.set ?? op.delete;
    throw mismatch(request.key, request.etag, current, where(failed - 1));
  }

  /** ttlInSeconds is at least -1 (state.cap); 0 and -1 both mean no expiry. */
  private ttlOf(ttl: number | undefined): number {
    return ttl === undefined ? this.defaultTtl : Math.max(ttl, 0);
  }
}

/** The "redis" state adapter, as the registry holds it. */
export const redisStateAdapter = defineRedisStateAdapter(async (metadata, context) => {
  // ttlInSeconds is at least -1 (spec/components/adapters/redis.cap).
  return new RedisStateStore(await RedisConnection.open(metadata, { componentName: context.componentName }), Math.max(metadata.ttlInSeconds ?? 0, 0));
});

const noArguments: readonly ScriptArgument[] = [];

/** A write or a delete, exactly one (state.cap's union). */
type Operation = TransactionOperation;

/** This store's etags are decimal versions; anything else cannot be one it issued. */
function checkEtag(key: string, etag: string, where: string): string {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(etag)) {
    throw new EtagInvalidError(
      `${where}etag ${JSON.stringify(etag)} of key '${key}' is not valid: this store's etags are decimal versions such as "1"`,
    );
  }
  return etag;
}

function mismatch(key: string, etag: string | undefined, current: number, where: string): EtagMismatchError {
  if (etag === undefined || etag === "") {
    return new EtagMismatchError(
      `${where}key '${key}' already exists: first-write without an etag only inserts; give the etag to replace it`,
    );
  }
  if (current === -2) return new EtagMismatchError(`${where}etag "${etag}" given for key '${key}', which does not exist`);
  if (current === -1) return new EtagMismatchError(`${where}etag "${etag}" given for key '${key}', which holds a value without etag`);
  return new EtagMismatchError(
    `${where}etag "${etag}" of key '${key}' is stale: the current etag is "${current}"; read the key again`,
  );
}

/** An item from the get script's reply: [data, version, pttl] or empty when missing. */
function readItem(key: string, reply: unknown): GetResponse {
  if (!Array.isArray(reply) || reply.length < 3) return { found: false, data: new Uint8Array(0), metadata: {} };
  const [data, version, pttl] = reply as [unknown, unknown, unknown];
  if (!Buffer.isBuffer(data) || !Buffer.isBuffer(version) || typeof pttl !== "number") {
    throw new Error(`unexpected reply reading key '${key}' from redis`);
  }
  // Dapr answers the expiry as ttlExpireTime metadata; so does the in-memory store.
  const metadata: Record<string, string> = pttl > 0 ? { ttlExpireTime: new Date(Date.now() + pttl).toISOString() } : {};
  const item: GetResponse = { found: true, data: ownBytes(data), metadata };
  if (version.length > 0) item.etag = version.toString("latin1");
  return item;
}

/**
 * The value as a Uint8Array. The reply's Buffer is a view: of the bytes of one
 * socket read (Node allocates each read's memory anew) or, for a value that came in
 * several reads, of the parser's pool; neither is written again. A view of its own
 * is enough when the value is most of what it views; a value that would keep a
 * larger buffer alive (several replies read at once, the pool) is copied.
 */
function ownBytes(data: Buffer): Uint8Array {
  const rest = data.buffer.byteLength - data.byteLength;
  return rest <= retainedBytesLimit ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** How many bytes besides its own a value read from Redis may keep alive rather than be copied. */
const retainedBytesLimit = 4096;

function readPair(reply: unknown): [number, number] {
  if (Array.isArray(reply) && typeof reply[0] === "number" && typeof reply[1] === "number") return [reply[0], reply[1]];
  throw new Error(`unexpected reply from the redis state script`);
}

/** A Buffer view of the value, without copying; ioredis sends Buffers as raw bytes. */
function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
