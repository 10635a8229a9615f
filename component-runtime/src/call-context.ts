/**
 * What a component operation knows of the call it serves, as every
 * components-contrib operation takes a ctx: a signal that aborts when the caller
 * cancels, the deadline passes or the runtime shuts down, and the deadline itself.
 * The kernel passes one to every operation; an adapter that waits on a backend
 * stops waiting when the signal fires (adapter-kit's `abortable`) and lets the
 * backend's answer, if it still comes, fall on the floor.
 */
export interface CallContext {
  /** Aborted when the call is over for the caller: cancelled, past its deadline, or shut down. */
  readonly signal: AbortSignal;
  /** When the call's deadline passes, in Date.now() milliseconds; undefined when it has none. */
  readonly deadline: number | undefined;
  /**
   * The signal's abort, without the signal: runs `listener` once when the call
   * aborts and answers what removes it, or answers undefined (registering nothing)
   * when the call has aborted already. Optional: a transport that tracks its calls
   * itself (the gRPC fast path) offers it, since an AbortController per call, its
   * listeners and its abort event cost more than a short backend call. adapter-kit's
   * `abortable` uses it when present and the signal otherwise.
   */
  whenAborted?(listener: () => void): (() => void) | undefined;
}

/**
 * Registers `onAbort` for the call's abort (its whenAborted hook when it has one,
 * else its signal) and answers what removes it, or undefined when the call has
 * aborted already.
 */
export function whenAborted(call: Pick<CallContext, "signal" | "whenAborted">, onAbort: () => void): (() => void) | undefined {
  if (call.whenAborted !== undefined) return call.whenAborted(onAbort);
  const { signal } = call;
  if (signal.aborted) return undefined;
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
