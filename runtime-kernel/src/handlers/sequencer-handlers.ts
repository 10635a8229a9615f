import { sequencerHas, type Sequencer } from "@ottavo/generated/components/sequencer";
import type { RuntimeSequencerRpcs } from "@ottavo/generated/server/runtime-handlers";
import { SequencerOptions_AutoIncrement } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { ComponentTable } from "../registry/component-table";
import { findComponent, requireComponent } from "./component-lookup";
import { invalidArgument } from "../errors/error-mapping";
import { atComponent } from "./call-context";
import { sequencerCapabilityMetadataFields } from "@ottavo/generated/components/metadata-groups";
import { KeyScope, checkKey, declaredKeyPrefixDefault } from "./key-prefix";
import { SegmentCache } from "./segment-cache";
import { asyncRpcs, reachAtOnce, reachSync, syncRpcs, then, type Bodies, type Reach, type SyncRpcs } from "./at-once";

/** The sequencer rpcs the API serves: a promise, or the answer itself from a sequencer that answers at once. */
export function createSequencerHandlers(table: ComponentTable): RuntimeSequencerRpcs {
  return asyncRpcs<RuntimeSequencerRpcs>(sequencerBodies(table, reachAtOnce));
}

/**
 * The same rpc answered synchronously, over the sequencers' sync forms; a sequencer
 * without one answers FAILED_PRECONDITION, and so does a WEAK id from a SEGMENT
 * sequencer (its reserved blocks are refilled asynchronously).
 */
export function createSequencerSyncHandlers(table: ComponentTable): SyncRpcs<RuntimeSequencerRpcs> {
  return syncRpcs<RuntimeSequencerRpcs>(sequencerBodies(table, reachSync));
}

function sequencerBodies(table: ComponentTable, reach: Reach): Bodies<RuntimeSequencerRpcs> {
  // Layotto's sequencer keys: sequencer|||<appid>||<key> by default (pkg/runtime/sequencer/sequencer_config.go).
  const keys = sequencerKeyScope(table.appId);
  // WEAK ids served from reserved blocks, per component and backend key.
  const caches = new WeakMap<Sequencer, Map<string, SegmentCache>>();

  function cacheFor(store: Sequencer, key: string, reserve: (size: number) => Promise<{ from: bigint; to: bigint }>) {
    let byKey = caches.get(store);
    if (byKey === undefined) caches.set(store, (byKey = new Map()));
    let cache = byKey.get(key);
    if (cache === undefined) byKey.set(key, (cache = new SegmentCache(reserve)));
    return cache;
  }

  return {
    getNextId(request, context) {
      // Layotto's order: configured, key, options, key syntax, store.
      const found = findComponent(table, "sequencer", request.storeName);
      if (request.key === "") throw invalidArgument(`Key is empty in sequencer store ${request.storeName}`);
      const increment = request.options?.increment ?? SequencerOptions_AutoIncrement.WEAK;
      if (increment !== SequencerOptions_AutoIncrement.WEAK && increment !== SequencerOptions_AutoIncrement.STRONG) {
        throw invalidArgument(`options.increment ${increment} is illegal: use WEAK (0) or STRONG (1)`);
      }
      checkKey(request.key);
      const entry = requireComponent(found, "sequencer", request.storeName);
      const key = keys.scope(entry, request.key);
      const store = entry.component;
      const call = atComponent(context, entry.name, request.key);
      const describe = () => `sequencer ${entry.name} (type ${entry.type})`;
      let id;
      if (increment === SequencerOptions_AutoIncrement.WEAK && sequencerHas(store, "SEGMENT")) {
        // Ids from reserved blocks, which are refilled asynchronously: no synchronous form.
        const blocks: { nextId(): Promise<bigint>; readonly sync?: undefined } = {
          nextId: () => cacheFor(store, key, (size) => store.reserveSegment({ key, size })).nextId(),
        };
        id = reach(blocks, () => `sequencer ${entry.name} (type ${entry.type}, WEAK ids from reserved segments)`).nextId();
      } else id = reach(store, describe).nextId({ key, metadata: request.metadata }, call);
      // next_id is an int64 with jstype JS_STRING: a decimal string in protobuf-es.
      return then(id, (next) => ({ nextId: next.toString() }));
    },
  };
}

/** How sequencer keys are scoped: Layotto's "sequencer|||" before the keyPrefix strategy (app id by default). */
export function sequencerKeyScope(appId: string): KeyScope {
  return new KeyScope(appId, "sequencer|||", declaredKeyPrefixDefault(sequencerCapabilityMetadataFields), "Sequencer store");
}
