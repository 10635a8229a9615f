import type { HandlerContext } from "@connectrpc/connect";
import type { CallContext } from "@ottavo/component-runtime";

/**
 * The call's context as components receive it, from the handler's: its signal
 * (aborted on cancel, deadline or shutdown) and its deadline. The signal is read
 * only when a component asks for it, since the gRPC fast path makes its
 * AbortController on first use.
 */
export function callContext(handler: HandlerContext): CallContext {
  return new HandlerCallContext(handler);
}

class HandlerCallContext implements CallContext {
  readonly deadline: number | undefined;

  constructor(private readonly handler: HandlerContext) {
    const timeoutMs = handler.timeoutMs();
    this.deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  }

  get signal(): AbortSignal {
    return this.handler.signal;
  }
}
