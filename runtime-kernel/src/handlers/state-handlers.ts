import { Code, ConnectError } from "@connectrpc/connect";
import {
  stateStoreHas,
  type GetResponse,
  type Concurrency,
  type Consistency,
  type DeleteRequest,
  type SetRequest,
  type StateStore,
  type TransactionOperation,
} from "@ottavo/generated/components/state";
import type { RuntimeStateRpcs } from "@ottavo/generated/server/runtime-handlers";
import {
  StateOptions_StateConcurrency,
  StateOptions_StateConsistency,
  type BulkStateItemSchema,
  type Etag,
  type StateItem,
  type StateOptions,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ComponentEntry, ComponentTable } from "../registry/component-table";
import { lookupComponent } from "./component-lookup";
import { errorText, invalidArgument } from "../errors/error-mapping";
import { atComponent, callContext } from "./call-context";
import type { CallContext } from "@ottavo/component-runtime";
import { stateCapabilityMetadataFields } from "@ottavo/generated/components/metadata-groups";
import { KeyScope, declaredKeyPrefixDefault } from "./key-prefix";
import { asyncRpcs, inSequence, reachAtOnce, reachSync, syncRpcs, then, type AtOnce, type Bodies, type Operations, type Reach, type SyncRpcs } from "./at-once";
import { stateTtl } from "./ttl-metadata";

/**
 * Layotto's default key prefix for state is "none" (pkg/runtime/state/compatibility.go,
 * documented as the default in its state component docs), so state written through
 * Layotto reads back here unchanged; a store's `keyPrefix` metadata chooses another.
 * Dapr's default would be "appid". The value comes from the state capability's own
 * metadata in spec/components/state.cap, which every state adapter accepts.
 */
export const defaultStateKeyPrefix = declaredKeyPrefixDefault(stateCapabilityMetadataFields);

/** How many keys GetBulkState reads at once from a store without BULK when parallelism is 0 (Dapr's default). */
const defaultBulkParallelism = 100;

const emptyBytes = new Uint8Array(0);

type BulkItemInit = MessageInitShape<typeof BulkStateItemSchema>;

function describeStore(entry: ComponentEntry<"state">): string {
  return `state store ${entry.name} (type ${entry.type})`;
}

/** GetState's answer from the store's (a module function, not a closure per call); a missing key is not an error: empty data and etag. */
function getStateAnswer(item: GetResponse) {
  return { data: item.data, etag: item.etag ?? "", metadata: item.metadata };
}

/** The state rpcs the API serves: a promise, or the answer itself from a store that answers at once. */
export function createStateHandlers(table: ComponentTable): RuntimeStateRpcs {
  return asyncRpcs<RuntimeStateRpcs>(stateBodies(table, reachAtOnce));
}

/** The same rpcs answered synchronously, over the stores' sync forms; a store without one answers FAILED_PRECONDITION. */
export function createStateSyncHandlers(table: ComponentTable): SyncRpcs<RuntimeStateRpcs> {
  return syncRpcs<RuntimeStateRpcs>(stateBodies(table, reachSync));
}

function stateBodies(table: ComponentTable, reach: Reach): Bodies<RuntimeStateRpcs> {
  const keys = new KeyScope(table.appId, "", defaultStateKeyPrefix, "state store");

  /** The backend key of one caller key, refusing empty keys and "||". */
  function scopedKey(entry: ComponentEntry<"state">, key: string): string {
    if (key === "") throw invalidArgument(`key is empty in state store ${entry.name}`);
    return keys.scope(entry, key);
  }

  function setRequest(entry: ComponentEntry<"state">, item: StateItem): SetRequest {
    const ttl = stateTtl(item.metadata, item.key);
    return {
      key: scopedKey(entry, item.key),
      value: item.value,
      etag: etagOf(item.etag),
      concurrency: concurrencyOf(item.options, item.etag),
      consistency: consistencyOf(item.options),
      // Stores without TTL ignore it, as Dapr documents ("other state stores will ignore this value").
      ttlInSeconds: ttl !== undefined && stateStoreHas(entry.component, "TTL") ? ttl : undefined,
      metadata: item.metadata,
    };
  }

  function deleteRequest(entry: ComponentEntry<"state">, item: StateItem): DeleteRequest {
    return {
      key: scopedKey(entry, item.key),
      etag: etagOf(item.etag),
      concurrency: concurrencyOf(item.options, item.etag),
      consistency: consistencyOf(item.options),
      metadata: item.metadata,
    };
  }

  // The description is made only when reachSync refuses a store: no closure per call.
  const storeOf = (entry: ComponentEntry<"state">) => reach(entry.component, describeStore, entry);

  return {
    getState(request, context) {
      const entry = lookupComponent(table, "state", request.storeName);
      const key = scopedKey(entry, request.key);
      const found = storeOf(entry).get({
        key,
        consistency: consistencyFrom(request.consistency),
        metadata: request.metadata,
      }, atComponent(context, entry.name, request.key));
      return then(found, getStateAnswer);
    },

    getBulkState(request, context) {
      const entry = lookupComponent(table, "state", request.storeName);
      if (request.keys.length === 0) return { items: [] };
      const scoped = request.keys.map((key) => scopedKey(entry, key));
      if (stateStoreHas(entry.component, "BULK")) {
        const found = reach(entry.component, () => `state store ${entry.name}`).bulkGet({ keys: scoped, metadata: request.metadata }, atComponent(context, entry.name));
        return then(found, (items) => ({
          items: items.map(
            (item): BulkItemInit => ({
              key: keys.unscope(entry, item.key),
              data: item.data,
              etag: item.etag ?? "",
              error: item.error ?? "",
              metadata: item.metadata,
            }),
          ),
        }));
      }
      const limit = request.parallelism > 0 ? request.parallelism : defaultBulkParallelism;
      const store = storeOf(entry);
      const call = callContext(context);
      return then(mapBounded(scoped, limit, (key, i) => getOne(store, key, request.keys[i], request.metadata, call)), (items) => ({ items }));
    },

    saveState(request, context) {
      const entry = lookupComponent(table, "state", request.storeName);
      const requests = request.states.map((item) => setRequest(entry, item));
      if (requests.length === 0) return {};
      const call = atComponent(context, entry.name);
      // One item is a plain set, so its errors read as such (no "bulk set:").
      if (requests.length > 1 && stateStoreHas(entry.component, "BULK")) {
        return then(reach(entry.component, () => `state store ${entry.name}`).bulkSet(requests, call), () => ({}));
      }
      // In order, stopping at the first failure, like Dapr's default BulkSet.
      const store = storeOf(entry);
      return then(inSequence(requests, (one) => store.set(one, call)), () => ({}));
    },

    deleteState(request, context) {
      const entry = lookupComponent(table, "state", request.storeName);
      const one: DeleteRequest = {
        key: scopedKey(entry, request.key),
        etag: etagOf(request.etag),
        concurrency: concurrencyOf(request.options, request.etag),
        consistency: consistencyOf(request.options),
        metadata: request.metadata,
      };
      return then(storeOf(entry).delete(one, atComponent(context, entry.name, request.key)), () => ({}));
    },

    deleteBulkState(request, context) {
      const entry = lookupComponent(table, "state", request.storeName);
      const requests = request.states.map((item) => deleteRequest(entry, item));
      if (requests.length === 0) return {};
      if (stateStoreHas(entry.component, "BULK")) {
        return then(reach(entry.component, () => `state store ${entry.name}`).bulkDelete(requests, atComponent(context, entry.name)), () => ({}));
      }
      // One at a time; a failure names the key it failed on.
      const store = storeOf(entry);
      return then(inSequence(requests, (one, i) => store.delete(one, atComponent(context, entry.name, request.states[i].key))), () => ({}));
    },

    executeStateTransaction(request, context) {
      const entry = lookupComponent(table, "state", request.storeName);
      const store = entry.component;
      if (!stateStoreHas(store, "TRANSACTIONAL")) {
        throw new ConnectError(`state store ${entry.name} doesn't support transaction`, Code.Unimplemented);
      }
      const operations = request.operations.map((op, i): TransactionOperation => {
        // Dapr's operation names, compared exactly as Dapr does.
        if (op.operationType !== "upsert" && op.operationType !== "delete") {
          throw invalidArgument(`operation type ${op.operationType} not supported`);
        }
        if (op.request === undefined) {
          throw invalidArgument(`transaction operation ${i + 1} (${op.operationType}) has no request`);
        }
        return op.operationType === "upsert"
          ? { set: setRequest(entry, op.request) }
          : { delete: deleteRequest(entry, op.request) };
      });
      return then(reach(store, () => `state store ${entry.name}`).transact({ operations, metadata: request.metadata }, atComponent(context, entry.name)), () => ({}));
    },
  };
}

/** One key of a bulk read on a store without BULK; a failure lands in the item, not the call. */
function getOne(
  store: Operations<StateStore>,
  key: string,
  callerKey: string,
  metadata: Record<string, string>,
  context: CallContext,
): AtOnce<BulkItemInit> {
  let found;
  try {
    found = store.get({ key, consistency: "EVENTUAL", metadata }, context);
  } catch (error) {
    return { key: callerKey, data: emptyBytes, error: errorText(error) };
  }
  const item = (answer: GetResponse): BulkItemInit => ({ key: callerKey, data: answer.data, etag: answer.etag ?? "", metadata: answer.metadata });
  if (!(found instanceof Promise)) return item(found);
  return found.then(item, (error: unknown) => ({ key: callerKey, data: emptyBytes, error: errorText(error) }));
}

/**
 * Runs fn over items with at most `limit` in flight; results keep the items' order.
 * While fn answers values (a store's sync form) it simply runs them in order.
 */
function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => AtOnce<R>): AtOnce<R[]> {
  const results = new Array<R>(items.length);
  for (let i = 0; i < items.length; i++) {
    const answer = fn(items[i], i);
    if (answer instanceof Promise) return boundedFrom(items, i, answer, limit, fn, results);
    results[i] = answer;
  }
  return results;
}

/** The rest of mapBounded once fn answered a promise for item `first`. */
async function boundedFrom<T, R>(
  items: readonly T[],
  first: number,
  pending: Promise<R>,
  limit: number,
  fn: (item: T, index: number) => AtOnce<R>,
  results: R[],
): Promise<R[]> {
  let next = first + 1;
  const worker = async (start?: { index: number; answer: Promise<R> }): Promise<void> => {
    if (start !== undefined) results[start.index] = await start.answer;
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  const count = Math.min(limit, items.length - first);
  await Promise.all(Array.from({ length: count }, (_, w) => worker(w === 0 ? { index: first, answer: pending } : undefined)));
  return results;
}

/**
 * An absent Etag, an empty value and "0" all mean "no etag". The published Layotto
 * JS SDK sends "0" whenever the caller gives no etag (save and delete alike), and
 * Dapr's Redis store reads "0" the same way; no store issues "0" as a real etag.
 */
function etagOf(etag: Etag | undefined): string | undefined {
  return etag === undefined || etag.value === "" || etag.value === "0" ? undefined : etag.value;
}

/**
 * Only an explicit LAST_WRITE ignores the etag, as Layotto's and Dapr's stores do.
 * With no concurrency given, Dapr's stores still check an etag: that is first-write
 * in the IDL's terms (with an etag it must match; without one the write upserts).
 */
function concurrencyOf(options: StateOptions | undefined, etag: Etag | undefined): Concurrency {
  const asked = options?.concurrency ?? StateOptions_StateConcurrency.CONCURRENCY_UNSPECIFIED;
  if (asked === StateOptions_StateConcurrency.CONCURRENCY_FIRST_WRITE) return "FIRST_WRITE";
  if (asked === StateOptions_StateConcurrency.CONCURRENCY_UNSPECIFIED && etagOf(etag) !== undefined) return "FIRST_WRITE";
  return "LAST_WRITE";
}

function consistencyOf(options: StateOptions | undefined): Consistency {
  return consistencyFrom(options?.consistency ?? StateOptions_StateConsistency.CONSISTENCY_UNSPECIFIED);
}

function consistencyFrom(consistency: StateOptions_StateConsistency): Consistency {
  return consistency === StateOptions_StateConsistency.CONSISTENCY_STRONG ? "STRONG" : "EVENTUAL";
}
