import { Code, ConnectError } from "@connectrpc/connect";
import type { RuntimeSyncHandlerGroups } from "@ottavo/generated/wasm/runtime-abi";

/**
 * One body per rpc for both ways a handler answers. The handlers of the capabilities
 * whose components may answer at once (state, lock, sequencer, configuration) are
 * written once over a Reach: the groups the API serves reach a component's `sync`
 * form when it has one and its async operations (promises) otherwise, the
 * synchronous groups a function on the main thread calls reach its `sync` form (values). Between the component calls, `then` and
 * `inSequence` continue at once on a value and after the promise on a promise, so
 * the checks, key scoping and answers are the same code either way.
 */

/** A value now, or later. */
export type AtOnce<T> = T | Promise<T>;

/** A component's operations as a handler body sees them: each answers a value or a promise. */
export type Operations<C> = {
  [K in keyof C]-?: NonNullable<C[K]> extends (...args: infer A) => Promise<infer R> ? (...args: A) => AtOnce<R> : C[K];
};

/**
 * How a handler body reaches a component: the component itself, or its synchronous form.
 * `describe(subject)` names the component when it cannot be reached; passing a module
 * function and its subject spares a closure per call.
 */
export type Reach = <C extends { readonly sync?: object }, S = void>(component: C, describe: (subject: S) => string, subject?: S) => Operations<C>;

/** The component's async operations. */
export const reachAsync: Reach = (component) => component as Operations<typeof component>;

/**
 * The API's way: a component's synchronous form when it has one (the same
 * operations answered at once, timed and traced alike; a component under
 * resiliency policies has none), else its async operations. An at-once answer
 * then goes back without a promise, a reaction and a microtask per step.
 */
export const reachAtOnce: Reach = (component) => (component.sync ?? component) as Operations<typeof component>;

/** The synchronous way: the component's `sync` form; a component without one cannot answer here. */
export const reachSync: Reach = (component, describe, subject) => {
  if (component.sync === undefined) throw cannotAnswerAtOnce(describe(subject!));
  return component.sync as unknown as Operations<typeof component>;
};

/**
 * FAILED_PRECONDITION: the call came from somewhere that cannot wait (a function
 * running on the main thread) and the component answers only asynchronously.
 */
export function cannotAnswerAtOnce(what: string): ConnectError {
  return new ConnectError(
    `${what} cannot answer synchronously, and this function runs inline on the main thread, where host calls cannot wait; ` +
      `run it where host calls can wait (execution: worker or asyncify, or auto, which picks one of those for a function granted such a component)`,
    Code.FailedPrecondition,
  );
}

/** next applied to the value: at once for a value, after it resolves for a promise. */
export function then<T, R>(value: AtOnce<T>, next: (value: T) => AtOnce<R>): AtOnce<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** step over the items in order, each after the previous one finished; stops at the first failure. */
export function inSequence<T>(items: readonly T[], step: (item: T, index: number) => AtOnce<unknown>, from = 0): AtOnce<void> {
  for (let i = from; i < items.length; i++) {
    const done = step(items[i], i);
    if (done instanceof Promise) return done.then(() => inSequence(items, step, i + 1));
  }
  return undefined;
}

/** A group's rpc bodies: each answers what the rpc resolves to, at once or later. */
export type Bodies<G> = {
  [K in keyof G]: G[K] extends (request: infer Q, context: infer C) => Promise<infer A> ? (request: Q, context: C) => AtOnce<A> : never;
};

/** A group's rpcs answered synchronously. */
export type SyncRpcs<G> = {
  [K in keyof G]: G[K] extends (request: infer Q, context: infer C) => Promise<infer A> ? (request: Q, context: C) => A : never;
};

type Body = (request: unknown, context: unknown) => AtOnce<unknown>;

/**
 * The rpc bodies as the API's handlers: each answers a promise, or the answer
 * itself when its body had it at once (the paths that call handlers await them
 * or take a value as it is); a failed check is a rejected promise.
 */
export function asyncRpcs<G>(bodies: Bodies<G>): G {
  const out: Record<string, Body> = {};
  for (const [name, body] of Object.entries(bodies as Record<string, Body>)) {
    out[name] = (request, context) => {
      try {
        return body(request, context);
      } catch (error) {
        return Promise.reject(error);
      }
    };
  }
  return out as G;
}

/** The rpc bodies over reachSync as synchronous handlers: each answers its value, or throws. */
export function syncRpcs<G>(bodies: Bodies<G>): SyncRpcs<G> {
  const out: Record<string, Body> = {};
  for (const [name, body] of Object.entries(bodies as Record<string, Body>)) {
    out[name] = (request, context) => {
      const answer = body(request, context);
      // Only reachSync's operations are called, and they answer values: a promise here is a bug.
      if (answer instanceof Promise) {
        answer.catch(() => undefined);
        throw new ConnectError(`${name} answered a promise on the synchronous path`, Code.Internal);
      }
      return answer;
    };
  }
  return out as SyncRpcs<G>;
}

export type { RuntimeSyncHandlerGroups };
