import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import { ComponentError, type StatusName } from "@ottavo/component-runtime";
import { componentErrorDetail } from "./error-info";
import { describeFailure } from "./failure-texts";

/**
 * The one place where component errors become API status codes. Components raise
 * transport-neutral ComponentErrors naming a status (the errors spec/components
 * declares); the kernel's own errors are ConnectErrors already; anything else a
 * component throws is a bug or an undeclared failure and answers INTERNAL. A
 * declared error also carries its name, as a google.rpc.ErrorInfo detail
 * (error-info.ts), on every path that serves the call.
 */
const codes: Record<StatusName, Code> = {
  CANCELLED: Code.Canceled,
  UNKNOWN: Code.Unknown,
  INVALID_ARGUMENT: Code.InvalidArgument,
  DEADLINE_EXCEEDED: Code.DeadlineExceeded,
  NOT_FOUND: Code.NotFound,
  ALREADY_EXISTS: Code.AlreadyExists,
  PERMISSION_DENIED: Code.PermissionDenied,
  RESOURCE_EXHAUSTED: Code.ResourceExhausted,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  ABORTED: Code.Aborted,
  OUT_OF_RANGE: Code.OutOfRange,
  UNIMPLEMENTED: Code.Unimplemented,
  INTERNAL: Code.Internal,
  UNAVAILABLE: Code.Unavailable,
  DATA_LOSS: Code.DataLoss,
  UNAUTHENTICATED: Code.Unauthenticated,
};

/** The API status of a thrown value. */
export function codeOf(error: unknown): Code {
  if (error instanceof ConnectError) return error.code;
  if (error instanceof ComponentError) return codes[error.status];
  return Code.Internal;
}

/** The text of a thrown value without Connect's "[code]" prefix. */
export function errorText(error: unknown): string {
  if (error instanceof ConnectError) return error.rawMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * A thrown value as the API's error: its code, its words, and a declared error's
 * name. The kernel's own errors (ConnectErrors: bad input, unknown component) keep
 * theirs. Anything else came from a component: when the call's handler recorded
 * what it asked the component (`values`, failure-texts.ts), Layotto's words for
 * that rpc wrap the component's text; otherwise the component's text is the message.
 */
export function toConnectError(error: unknown, values?: ContextValues): ConnectError {
  if (error instanceof ConnectError) return error;
  const text = errorText(error);
  const message = describeFailure(values, text) ?? text;
  return withDetails(new ConnectError(message, codeOf(error), undefined, undefined, error), error);
}

/**
 * Turns a component's failure into the API's error, keeping its status (an etag
 * mismatch stays ABORTED, a missing file NOT_FOUND). `describe` receives the
 * component's own text and wraps it the way Layotto words that operation; it must
 * name the operation and the component and never echo request metadata.
 */
export function componentFailure(error: unknown, describe: (detail: string) => string): ConnectError {
  return withDetails(new ConnectError(describe(errorText(error)), codeOf(error), undefined, undefined, error), error);
}

/** The details the API error of `cause` carries: a declared error's ErrorInfo, or a ConnectError's own details. */
function withDetails(mapped: ConnectError, cause: unknown): ConnectError {
  if (cause instanceof ComponentError) mapped.details.push(componentErrorDetail(cause));
  else if (cause instanceof ConnectError) mapped.details.push(...cause.details);
  return mapped;
}

/** A ConnectError for bad input. */
export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
