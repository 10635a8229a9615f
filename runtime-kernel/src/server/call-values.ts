import type { ContextKey, ContextValues } from "@connectrpc/connect";

/**
 * Connect's ContextValues with its methods on the prototype: createContextValues()
 * makes three closures per call, and every call that reaches a component records
 * its failure subject here (handlers/call-context.ts).
 */
export class CallValues implements ContextValues {
  get<T>(key: ContextKey<T>): T {
    return key.id in this ? ((this as Record<symbol, unknown>)[key.id] as T) : key.defaultValue;
  }

  set<T>(key: ContextKey<T>, value: T): this {
    (this as Record<symbol, unknown>)[key.id] = value;
    return this;
  }

  delete(key: ContextKey<unknown>): this {
    delete (this as Record<symbol, unknown>)[key.id];
    return this;
  }
}
