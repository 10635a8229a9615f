import { whenAborted, type CallContext } from "@ottavo/component-runtime";
import { CancelledError, TimeoutError } from "@ottavo/generated/components/errors";

// Defined with CallContext, where the kernel's invocation targets find it too; adapters take it from the kit.
export { whenAborted };

/**
 * Waits for `work` until the call's context aborts, then rejects with TimeoutError
 * (past its deadline) or CancelledError (cancelled, shut down) and stops waiting.
 * The work itself goes on (a Redis command sent cannot be taken back); its outcome
 * is dropped. Without a context (direct calls in tests) it is `work` itself.
 */
export function abortable<T>(work: Promise<T>, context: CallContext | undefined): Promise<T> {
  if (context === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(ignore);
      reject(abortError(context));
    };
    const remove = whenAborted(context, onAbort);
    if (remove === undefined) return onAbort();
    work.then(
      (value) => {
        remove();
        resolve(value);
      },
      (failure: unknown) => {
        remove();
        reject(failure);
      },
    );
  });
}

function ignore(): void {}

/** Throws the abort's error when the call is already over, before any work starts. */
export function throwIfAborted(context: CallContext | undefined): void {
  if (context === undefined) return;
  const remove = whenAborted(context, ignore);
  if (remove === undefined) throw abortError(context);
  remove();
}

const deadlineSlackMs = 10;

/** The error for a call whose context aborted: its deadline passed, or it was cancelled. */
export function abortError(context: CallContext): TimeoutError | CancelledError {
  // The transport's timer and the deadline are taken at slightly different moments.
  return context.deadline !== undefined && Date.now() >= context.deadline - deadlineSlackMs
    ? new TimeoutError("the call's deadline passed before the backend answered")
    : new CancelledError("the call was cancelled before the backend answered");
}
