import type { ContextValues, HandlerContext } from "@connectrpc/connect";
import type { CallContext } from "@ottavo/component-runtime";
import { failureSubjectKey, type ComponentRpc } from "../errors/failure-texts";
import { callTraceScope, traceScopeOf, type TraceScope } from "../observability/trace-scope";
import { UnaryCallContext } from "../server/grpc/unary-call-context";

/**
 * The call's context as components receive it, from the handler's: its signal
 * (aborted on cancel, deadline or shutdown) and its deadline. The signal is read
 * only when a component asks for it, since the gRPC fast path makes its
 * AbortController on first use.
 */
export function callContext(handler: HandlerContext): CallContext {
  return contextFor(handler);
}

/**
 * Hands the call to a component: records what it asks (the component's name, and
 * the key, file, secret or topic the rpc's words name) so that the one error
 * mapping words a failure as Layotto does for this rpc (errors/failure-texts.ts),
 * and answers the context the component receives. Handlers call it right before
 * the component operation and catch nothing.
 */
export function atComponent(handler: HandlerContext, store: string, item?: string): CallContext {
  if (handler instanceof UnaryCallContext) {
    handler.recordFailureSubject(store, item);
    return handler;
  }
  handler.values.set(failureSubjectKey, { rpc: handler.method.name as ComponentRpc, store, item });
  return contextFor(handler);
}

/** A handler context that tracks its aborts itself (the gRPC fast path's), so components need no AbortSignal. */
interface AbortHook {
  whenAborted(listener: () => void): (() => void) | undefined;
}

class HandlerCallContext implements CallContext {
  readonly deadline: number | undefined;

  constructor(protected readonly handler: HandlerContext) {
    const timeoutMs = handler.timeoutMs();
    this.deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  }

  get signal(): AbortSignal {
    return this.handler.signal;
  }

  /** The call's span, when tracing is on (read only then: the fast path makes its context values on first use). */
  [callTraceScope](): TraceScope | undefined {
    // The fast path's context offers its values without making them: a call the tracing step left alone has none.
    const recorded = (this.handler as HandlerContext & { recordedValues?: () => ContextValues | undefined }).recordedValues;
    const values = recorded === undefined ? this.handler.values : recorded.call(this.handler);
    return values === undefined ? undefined : traceScopeOf(values);
  }
}

/** The context of a call whose handler context offers whenAborted: components wait on it, not on a signal. */
class HookedCallContext extends HandlerCallContext {
  whenAborted(listener: () => void): (() => void) | undefined {
    return (this.handler as HandlerContext & AbortHook).whenAborted(listener);
  }
}

/**
 * The fast path's context (also the Connect unary path's and a function's host call's) is
 * handed to components as it is: the call's span is found on it as on HandlerCallContext.
 * Installed here, by the module that hands it out, since server/ sits below observability/.
 */
Object.defineProperty(UnaryCallContext.prototype, callTraceScope, {
  value: function (this: UnaryCallContext): TraceScope | undefined {
    // Only values that exist can hold a span (the tracing step puts it there before the handler runs):
    // reading recordedValues() here made the values and the failure subject on every component
    // operation of every call with tracing on, sampled or not.
    const values = this.madeValues();
    return values === undefined ? undefined : traceScopeOf(values);
  },
});

function contextFor(handler: HandlerContext): CallContext {
  // The fast path's, the Connect unary path's and a function's host call context is a CallContext itself.
  if (handler instanceof UnaryCallContext) return handler;
  return "whenAborted" in handler ? new HookedCallContext(handler) : new HandlerCallContext(handler);
}
