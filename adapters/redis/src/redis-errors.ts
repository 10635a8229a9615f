import { ComponentError } from "@ottavo/component-runtime";
import { UnavailableError } from "@ottavo/generated/components/errors";

/**
 * Socket errors that mean "Redis could not be reached", whatever the command.
 * They, and the client's own "not connected" and timeout errors, make a call
 * UNAVAILABLE: the caller may retry, and readiness reports the component DOWN.
 */
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

/** What ioredis says when a command cannot be sent or answered; its errors carry no code. */
const unreachableMessages = [
  /enableOfflineQueue options is false/,
  /Command timed out/,
  /Connection is closed/,
  /Stream isn't writeable/,
  /connect ETIMEDOUT/,
  /Command aborted due to connection close/,
];

/** Server replies that mean "not now" rather than "never": loading, busy, failing over. */
const transientReplies = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|READONLY|CLUSTERDOWN)\b/;

/** Whether an error means Redis is out of reach (or not answering) rather than refusing the command. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof ComponentError) return error.status === "UNAVAILABLE";
  // Duck-typed: socket errors come from Node's own realm, where instanceof Error
  // can fail (under jest, for one).
  if (!isErrorLike(error)) return false;
  if (typeof error.code === "string" && unreachableCodes.has(error.code)) return true;
  if (error.name === "MaxRetriesPerRequestError") return true;
  if (error.name === "ReplyError") return transientReplies.test(error.message);
  return unreachableMessages.some((pattern) => pattern.test(error.message));
}

function isErrorLike(error: unknown): error is { name: string; message: string; code?: unknown } {
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { message?: unknown }).message === "string" &&
    typeof (error as { name?: unknown }).name === "string"
  );
}

/**
 * The error a call answers with when talking to Redis failed. ComponentErrors (the
 * typed errors of the capability, or the shared ones) pass through unchanged. Otherwise the
 * message names the server as host:port (never credentials: they are not in the
 * client's messages, and endpoint is built without them) and the status is
 * UNAVAILABLE for reachability problems; anything else is an undeclared failure
 * (INTERNAL).
 */
export function redisFailure(error: unknown, endpoint: string): Error {
  if (error instanceof ComponentError) return error;
  const text = isErrorLike(error) ? error.message : String(error);
  // ioredis's wording for "disconnected" names its own option; say what it means.
  const detail = /enableOfflineQueue|Stream isn't writeable/.test(text) ? "not connected (reconnecting in the background)" : text;
  const cause = sanitized(error);
  if (isUnavailable(error)) {
    return new UnavailableError(`redis at ${endpoint} is unavailable: ${detail}`, cause);
  }
  return new Error(`redis at ${endpoint} failed: ${detail}`, { cause });
}

/**
 * The client's error without what it carries besides its message: ioredis attaches
 * the failed command's arguments (`command.args`), which hold AUTH's password and
 * the caller's data, and a logged cause would print them.
 */
function sanitized(error: unknown): Error | undefined {
  if (!isErrorLike(error)) return undefined;
  const copy = new Error(error.message);
  copy.name = error.name;
  if (typeof error.code === "string") (copy as NodeJS.ErrnoException).code = error.code;
  return copy;
}
