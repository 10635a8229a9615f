/**
 * The canonical status names an error maps to (Google's canonical codes, as gRPC
 * numbers them). Components name a status; only the kernel turns it into a
 * transport's code, in one place, so the contract does not depend on a transport
 * library.
 */
export type StatusName =
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

/**
 * An error a component raises on purpose: one its capability declares in
 * spec/components (EtagMismatchError, ...) or one of the shared errors declared
 * once for every capability (UnavailableError, InvalidArgumentError, ...). Anything
 * else a component throws answers INTERNAL.
 */
export class ComponentError extends Error {
  constructor(
    message: string,
    /** What the API answers with. */
    readonly status: StatusName,
    /** The capability that declares the error; undefined for the shared errors. */
    readonly capability: string | undefined,
    /** The declared name, e.g. "EtagMismatch". */
    readonly errorName: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = `${errorName}Error`;
  }
}

/** The status of what a component threw: its declared status, or INTERNAL for anything undeclared. */
export function statusOf(error: unknown): StatusName {
  return error instanceof ComponentError ? error.status : "INTERNAL";
}
