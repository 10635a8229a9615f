/** A capped exponential backoff: initialMs, doubling up to maxMs. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The wait before attempt number `attempt` + 1 (attempt counts from 1). */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const doubled = policy.initialMs * 2 ** Math.min(attempt - 1, 30);
  return Math.min(doubled, policy.maxMs);
}

/** Resolves after ms, or at once (false) when the signal aborts first; true when the time passed. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
