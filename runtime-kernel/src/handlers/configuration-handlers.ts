import { ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Subscription } from "@ottavo/component-runtime";
import type { ItemsRequest } from "@ottavo/generated/components/configuration";
import type { RuntimeConfigurationRpcs } from "@ottavo/generated/server/runtime-handlers";
import type {
  ConfigurationItem,
  SubscribeConfigurationRequest,
  SubscribeConfigurationResponseSchema,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ComponentTable } from "../registry/component-table";
import { AsyncQueue, defaultQueueLimit } from "./async-queue";
import { lookupComponent } from "./component-lookup";
import { atComponent } from "./call-context";
import { asyncRpcs, reachAtOnce, reachSync, syncRpcs, then, type Bodies, type Reach, type SyncRpcs } from "./at-once";
import type { ComponentEntry } from "../registry/component-table";

type SubscribeResponse = MessageInitShape<typeof SubscribeConfigurationResponseSchema>;

/**
 * The request header with which a client of SubscribeConfiguration asks the
 * runtime to confirm each subscription (spec/proto: a response with no items
 * once the store watches the keys). Opt-in, so a Layotto client, which never
 * sends it, sees changes only, as from Layotto.
 */
export const confirmSubscriptionHeader = "ottavo-confirm-subscription";

/** The fields that select items, shared by the get, delete and subscribe requests. */
interface Selection {
  appId: string;
  group: string;
  label: string;
  keys: string[];
  metadata: Record<string, string>;
}

/** The unary configuration rpcs, which have a synchronous form; subscribing streams. */
type UnaryConfigurationRpcs = Omit<RuntimeConfigurationRpcs, "subscribeConfiguration">;

/** The configuration rpcs the API serves: the unary ones answer a promise, or the answer itself from a store that answers at once. */
export function createConfigurationHandlers(table: ComponentTable, maxQueuedResponses = defaultQueueLimit): RuntimeConfigurationRpcs {
  return {
    ...asyncRpcs<UnaryConfigurationRpcs>(configurationBodies(table, reachAtOnce)),
    subscribeConfiguration: subscriber(table, maxQueuedResponses),
  };
}

/** The unary rpcs answered synchronously, over the stores' sync forms; a store without one answers FAILED_PRECONDITION. */
export function createConfigurationSyncHandlers(table: ComponentTable): SyncRpcs<UnaryConfigurationRpcs> {
  return syncRpcs<UnaryConfigurationRpcs>(configurationBodies(table, reachSync));
}

/** Blank app id means this runtime's app; blank (even all-space) group and label mean the store's defaults. */
function itemsRequest(table: ComponentTable, request: Selection): ItemsRequest {
  return {
    appId: request.appId === "" ? table.appId : request.appId,
    group: blankAsEmpty(request.group),
    label: blankAsEmpty(request.label),
    keys: request.keys,
    metadata: request.metadata,
  };
}

function configurationBodies(table: ComponentTable, reach: Reach): Bodies<UnaryConfigurationRpcs> {
  const storeOf = (entry: ComponentEntry<"configuration">) => reach(entry.component, () => `configuration store ${entry.name} (type ${entry.type})`);
  return {
    getConfiguration(request, context) {
      const entry = lookupComponent(table, "configuration", request.storeName);
      return then(storeOf(entry).get(itemsRequest(table, request), atComponent(context, entry.name)), (items) => ({ items }));
    },

    saveConfiguration(request, context) {
      const entry = lookupComponent(table, "configuration", request.storeName);
      const items = request.items.map(blankGroupAndLabel);
      const saved = storeOf(entry).save({
        appId: request.appId === "" ? table.appId : request.appId,
        items,
        metadata: request.metadata,
      }, atComponent(context, entry.name));
      return then(saved, () => ({}));
    },

    deleteConfiguration(request, context) {
      const entry = lookupComponent(table, "configuration", request.storeName);
      return then(storeOf(entry).delete(itemsRequest(table, request), atComponent(context, entry.name)), () => ({}));
    },
  };
}

function subscriber(table: ComponentTable, maxQueuedResponses: number): RuntimeConfigurationRpcs["subscribeConfiguration"] {
  return (requests, context) => subscribe(requests, context);

  /**
   * Each request adds a subscription; every change becomes one response. The stream
   * ends when the client ends its side or the call is cancelled, and all of its
   * subscriptions are closed then; a request naming an unknown store ends it with
   * that error, and so does an abort that carries a status (shutdown, deadline).
   */
  async function* subscribe(
    requests: AsyncIterable<SubscribeConfigurationRequest>,
    context: HandlerContext,
  ): AsyncGenerator<SubscribeResponse> {
    const changes = new AsyncQueue<SubscribeResponse>(maxQueuedResponses, "this SubscribeConfiguration stream");
    const subscriptions: Subscription[] = [];
    const stop = () => changes.end();
    // Aborted with a status (the runtime shutting down: UNAVAILABLE; a deadline), the stream
    // ends with it, so the client knows to subscribe again; a plain cancel just ends it.
    const onAbort = () => {
      const reason: unknown = context.signal.reason;
      if (reason instanceof ConnectError) changes.fail(reason);
      else stop();
    };
    context.signal.addEventListener("abort", onAbort, { once: true });
    if (context.signal.aborted) onAbort();
    const iterator = requests[Symbol.asyncIterator]();
    const confirm = context.requestHeader.get(confirmSubscriptionHeader) === "true";

    const closeAll = (list: readonly Subscription[]) =>
      Promise.allSettled(list.map((subscription) => subscription.close())).then(() => undefined);

    void (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done || changes.closed) return;
        const request = next.value;
        const entry = lookupComponent(table, "configuration", request.storeName);
        const storeName = entry.name;
        atComponent(context, storeName);
        const selection = itemsRequest(table, request);
        const subscription = await entry.component.subscribe(selection, async (change) => {
          // No backpressure on the store: a slow client must not stall a save.
          changes.push({ storeName, appId: change.appId, items: change.items });
        });
        // The stream may have ended while subscribing; then nobody else will close this one.
        if (changes.closed) return closeAll([subscription]);
        subscriptions.push(subscription);
        if (confirm) changes.push({ storeName, appId: selection.appId, items: [] });
      }
    })().then(stop, (error: unknown) => changes.fail(error));

    try {
      yield* changes;
    } finally {
      changes.end();
      context.signal.removeEventListener("abort", onAbort);
      // Stop reading the client's requests if it is still sending; how that ends does not matter.
      iterator.return?.().catch(() => undefined);
      await closeAll(subscriptions.splice(0));
    }
  }
}

function blankAsEmpty(text: string): string {
  return text.trim() === "" ? "" : text;
}

/** Layotto treats an all-space group or label as blank; the store fills in its default. */
function blankGroupAndLabel(item: ConfigurationItem): ConfigurationItem {
  const group = blankAsEmpty(item.group);
  const label = blankAsEmpty(item.label);
  return group === item.group && label === item.label ? item : { ...item, group, label };
}
