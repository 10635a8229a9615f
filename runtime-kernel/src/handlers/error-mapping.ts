import { Code, ConnectError } from "@connectrpc/connect";

/** The text of a thrown value without Connect's "[code]" prefix. */
export function errorText(error: unknown): string {
  if (error instanceof ConnectError) return error.rawMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Turns a component's failure into the API's error. A ConnectError (the typed errors
 * components declare are ComponentErrors, which are ConnectErrors) keeps its code, so
 * an etag mismatch stays ABORTED and a missing file NOT_FOUND; anything else is
 * INTERNAL. `describe` receives the component's own text and wraps it the way
 * Layotto words that operation; it must name the operation and the component and
 * never echo request metadata.
 */
export function componentFailure(error: unknown, describe: (detail: string) => string): ConnectError {
  const code = error instanceof ConnectError ? error.code : Code.Internal;
  return new ConnectError(describe(errorText(error)), code, undefined, undefined, error);
}

/** A ConnectError for bad input. */
export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
