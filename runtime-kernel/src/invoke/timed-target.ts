import { Code, ConnectError } from "@connectrpc/connect";
import type { InvocationTarget } from "./invocation";

/**
 * The target with a bound on each call (a target's configured `timeout`,
 * Layotto's 3 s default): past it the call is cut and answers DEADLINE_EXCEEDED.
 * The caller's own deadline still applies when it is shorter.
 */
export function withTimeout(target: InvocationTarget, timeoutMs: number): InvocationTarget {
  return {
    description: target.description,
    invoke(request) {
      const timer = new AbortController();
      const handle = setTimeout(
        () => timer.abort(new ConnectError(`${target.description} did not answer within ${timeoutMs} ms`, Code.DeadlineExceeded)),
        timeoutMs,
      );
      const signal = AbortSignal.any([request.signal, timer.signal]);
      return target.invoke({ ...request, signal }).finally(() => clearTimeout(handle));
    },
    close: () => target.close?.(),
  };
}
