import { Code, ConnectError } from "@connectrpc/connect";

/** Marks an error whose request never reached the target, so even a non-idempotent call may be retried. */
const notSent = new WeakSet<Error>();

/** The target could not be reached or the exchange broke: UNAVAILABLE, as Dapr answers. */
export function unreachable(message: string, cause: unknown, sent: boolean): ConnectError {
  const error = new ConnectError(message, Code.Unavailable, undefined, undefined, cause);
  if (!sent) notSent.add(error);
  return error;
}

/** Whether the failed call certainly never reached its target. */
export function wasNotSent(error: unknown): boolean {
  return error instanceof Error && notSent.has(error);
}

/**
 * The error of a call whose signal fired: the signal's own reason when it is a
 * ConnectError (a resiliency timeout, the runtime's shutdown), DEADLINE_EXCEEDED
 * for a timeout, else CANCELLED (the caller went away).
 */
export function abortedCall(signal: AbortSignal, what: string): ConnectError {
  const reason: unknown = signal.reason;
  if (reason instanceof ConnectError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new ConnectError(`${what} did not answer in time`, Code.DeadlineExceeded);
  }
  return new ConnectError(`the call to ${what} was cancelled`, Code.Canceled);
}
