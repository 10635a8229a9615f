import type { MessageHandler, SubscribeRequest } from "@ottavo/generated/components/pubsub";
import { redeliveryMetadataFields } from "@ottavo/generated/components/metadata-groups";
import { ComponentTable, type ComponentEntry } from "../registry/component-table";
import type { RuntimeMetrics } from "./metrics";
import { traceScopeAmong } from "./trace-scope";

/**
 * The same components, each behind a proxy that times every operation that
 * answers a promise (get, set, tryLock, publish, ...) into the component metrics.
 * A pubsub's subscribe also gets a counting handler, so every delivery is
 * counted whoever receives it (the app's OnTopicEvent or a SubscribeTopicEvents
 * stream). With tracing on, an operation whose arguments carry a traced call's
 * context (handlers pass it last) is a child span of that call's span.
 * A component's synchronous form (`sync`) is timed and traced alike, operation by
 * operation. Other properties, feature lists and synchronous methods pass through
 * untouched; the handlers and adapters do not know the difference. Without metrics (the
 * config's metrics.enabled: false) only the spans are made.
 */
export function withComponentMetrics(table: ComponentTable, metrics: RuntimeMetrics | undefined, traced = false): ComponentTable {
  const measured = new ComponentTable(table.appId);
  for (const entry of table.all()) {
    measured.add({ ...entry, component: measure(entry, metrics, traced) });
  }
  return measured;
}

function measure<C extends object>(entry: ComponentEntry & { component: C }, metrics: RuntimeMetrics | undefined, traced: boolean): C {
  const { component, capability, name } = entry;
  const wrapped = new Map<string, unknown>();
  const countDeliveries = capability === "pubsub" && metrics !== undefined ? deliveryCounter(entry, metrics) : undefined;
  let measuredSync: { of: object; measured: object } | undefined;
  return new Proxy(component, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property === "sync" && typeof value === "object" && value !== null) {
        // The component's synchronous form (an inline function's host calls): its operations are timed and traced too.
        if (measuredSync?.of !== value) measuredSync = { of: value, measured: measureSync(value, capability, name, metrics, traced) };
        return measuredSync.measured;
      }
      if (typeof value !== "function" || typeof property !== "string" || property === "constructor") return value;
      let timed = wrapped.get(property);
      if (timed === undefined) {
        // Series are made on the first promise: synchronous methods (features, ...) get none.
        let record: ((failed: boolean, seconds: number) => void) | undefined;
        const operation = property;
        const original = value as (...args: unknown[]) => unknown;
        const adapt = operation === "subscribe" ? countDeliveries : undefined;
        timed = function (this: unknown, ...args: unknown[]) {
          if (adapt !== undefined) args = adapt(args);
          const span = traced ? traceScopeAmong(args)?.component(capability, name, operation) : undefined;
          const started = performance.now();
          let result: unknown;
          try {
            result = original.apply(this === receiver ? target : this, args);
          } catch (error) {
            span?.end(error);
            throw error;
          }
          if (!(result instanceof Promise)) {
            span?.end();
            return result;
          }
          if (metrics === undefined && span === undefined) return result;
          if (metrics !== undefined) record ??= metrics.componentOperation(capability, name, operation);
          const done = record;
          // Watched beside the caller, not in its way: the caller gets the component's own promise
          // (its await takes no extra turn through a promise of ours). Ours runs first, so the
          // operation is counted before the caller goes on.
          result.then(
            () => {
              done?.(false, (performance.now() - started) / 1000);
              span?.end();
            },
            (error: unknown) => {
              done?.(true, (performance.now() - started) / 1000);
              span?.end(error);
            },
          );
          return result;
        };
        wrapped.set(property, timed);
      }
      return timed;
    },
  });
}

/**
 * A component's synchronous form with each operation timed into the same series, and
 * traced, as the async ones are: an object made once whose operations wrap the form's,
 * its other properties reached through its prototype (the form). No proxy: an inline
 * host call finds the operation as on any object (a proxy's trap was a good part of
 * the timing's cost per call).
 */
function measureSync(sync: object, capability: string, name: string, metrics: RuntimeMetrics | undefined, traced: boolean): object {
  const measured = Object.create(sync) as Record<string, unknown>;
  for (const operation of operationNames(sync)) {
    const original = (sync as Record<string, unknown>)[operation] as (...args: unknown[]) => unknown;
    let record: ((failed: boolean, seconds: number) => void) | undefined;
    measured[operation] = function (this: unknown, ...args: unknown[]) {
      const span = traced ? traceScopeAmong(args)?.component(capability, name, operation) : undefined;
      const started = performance.now();
      try {
        const result = original.apply(this === measured ? sync : this, args);
        if (metrics !== undefined) (record ??= metrics.componentOperation(capability, name, operation))(false, (performance.now() - started) / 1000);
        span?.end();
        return result;
      } catch (error) {
        if (metrics !== undefined) (record ??= metrics.componentOperation(capability, name, operation))(true, (performance.now() - started) / 1000);
        span?.end(error);
        throw error;
      }
    };
  }
  return measured;
}

/** The names of an object's methods, its prototypes' included (Object's own left out). */
function operationNames(target: object): string[] {
  const names = new Set<string>();
  for (let at: object | null = target; at !== null && at !== Object.prototype; at = Object.getPrototypeOf(at) as object | null) {
    for (const property of Object.getOwnPropertyNames(at)) {
      if (property !== "constructor" && typeof (target as Record<string, unknown>)[property] === "function") names.add(property);
    }
  }
  return [...names];
}

/** The default of the pubsubs' shared maxDeliveries field (spec/components/adapters/redelivery.cap). */
const defaultMaxDeliveries = Number(redeliveryMetadataFields.find((field) => field.name === "maxDeliveries")?.default ?? 0);

/**
 * subscribe(request, handler)'s arguments with a handler that counts. A
 * message answered RETRY on its maxDeliveries-th delivery, on a subscription
 * with a dead-letter topic of a pubsub that declares DEAD_LETTER, is the one
 * the pubsub moves to the dead-letter topic (the capability's contract), so it
 * is counted as a dead letter here.
 */
function deliveryCounter(entry: ComponentEntry, metrics: RuntimeMetrics): (args: unknown[]) => unknown[] {
  const configured = Number(entry.metadata.maxDeliveries ?? defaultMaxDeliveries);
  const maxDeliveries = Number.isInteger(configured) ? configured : defaultMaxDeliveries;
  const deadLettering = (entry as ComponentEntry<"pubsub">).component.features.has("DEAD_LETTER");
  return (args) => {
    const [request, handler, ...rest] = args as [SubscribeRequest, MessageHandler, ...unknown[]];
    const deadLetterTopic = deadLettering && maxDeliveries > 0 ? request.deadLetterTopic || undefined : undefined;
    const counted = metrics.deliveryHandler(entry.name, request.topic, handler, deadLetterTopic === undefined ? undefined : { deadLetterTopic, maxDeliveries });
    return [request, counted, ...rest];
  };
}
