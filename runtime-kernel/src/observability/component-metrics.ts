import { ComponentTable } from "../registry/component-table";
import type { RuntimeMetrics } from "./metrics";

/**
 * The same components, each behind a proxy that times every operation that
 * answers a promise (get, set, tryLock, publish, ...) into the component metrics.
 * Properties, feature lists and synchronous methods pass through untouched; the
 * handlers and adapters do not know the difference.
 */
export function withComponentMetrics(table: ComponentTable, metrics: RuntimeMetrics): ComponentTable {
  const measured = new ComponentTable(table.appId);
  for (const entry of table.all()) {
    measured.add({ ...entry, component: measure(entry.component, entry.capability, entry.name, metrics) });
  }
  return measured;
}

function measure<C extends object>(component: C, capability: string, name: string, metrics: RuntimeMetrics): C {
  const wrapped = new Map<string, unknown>();
  return new Proxy(component, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string" || property === "constructor") return value;
      let timed = wrapped.get(property);
      if (timed === undefined) {
        // Series are made on the first promise: synchronous methods (features, ...) get none.
        let record: ((failed: boolean, seconds: number) => void) | undefined;
        const operation = property;
        const original = value as (...args: unknown[]) => unknown;
        timed = function (this: unknown, ...args: unknown[]) {
          const started = performance.now();
          const result = original.apply(this === receiver ? target : this, args);
          if (!(result instanceof Promise)) return result;
          record ??= metrics.componentOperation(capability, name, operation);
          const done = record;
          return result.then(
            (answer) => {
              done(false, (performance.now() - started) / 1000);
              return answer;
            },
            (error: unknown) => {
              done(true, (performance.now() - started) / 1000);
              throw error;
            },
          );
        };
        wrapped.set(property, timed);
      }
      return timed;
    },
  });
}
