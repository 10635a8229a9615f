import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Every failed call throws an OttavoError: one class per gRPC status below, or
 * a typed error of spec/components (EtagMismatch, FileNotFound, ...) that extends
 * its status's class, so `instanceof NotFound` holds for FileNotFound too.
 */
export class OttavoError extends Error {
  override readonly name: string = "OttavoError";
  constructor(
    /** The gRPC status, as Connect's Code. */
    readonly code: Code,
    /** The runtime's message, without a status prefix. */
    readonly rawMessage: string,
    /** The capability whose call failed ("state"), or undefined for the client's own calls. */
    readonly capability: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${Code[code] ?? code}: ${rawMessage}`, options);
  }
}

export type OttavoErrorClass = new (code: Code, rawMessage: string, capability: string | undefined, options?: { cause?: unknown }) => OttavoError;

export class Canceled extends OttavoError { override readonly name: string = "Canceled"; }
export class Unknown extends OttavoError { override readonly name: string = "Unknown"; }
export class InvalidArgument extends OttavoError { override readonly name: string = "InvalidArgument"; }
export class DeadlineExceeded extends OttavoError { override readonly name: string = "DeadlineExceeded"; }
export class NotFound extends OttavoError { override readonly name: string = "NotFound"; }
export class AlreadyExists extends OttavoError { override readonly name: string = "AlreadyExists"; }
export class PermissionDenied extends OttavoError { override readonly name: string = "PermissionDenied"; }
export class ResourceExhausted extends OttavoError { override readonly name: string = "ResourceExhausted"; }
export class FailedPrecondition extends OttavoError { override readonly name: string = "FailedPrecondition"; }
export class Aborted extends OttavoError { override readonly name: string = "Aborted"; }
export class OutOfRange extends OttavoError { override readonly name: string = "OutOfRange"; }
export class Unimplemented extends OttavoError { override readonly name: string = "Unimplemented"; }
export class Internal extends OttavoError { override readonly name: string = "Internal"; }
export class Unavailable extends OttavoError { override readonly name: string = "Unavailable"; }
export class DataLoss extends OttavoError { override readonly name: string = "DataLoss"; }
export class Unauthenticated extends OttavoError { override readonly name: string = "Unauthenticated"; }

export const statusClasses: ReadonlyMap<Code, OttavoErrorClass> = new Map<Code, OttavoErrorClass>([
  [Code.Canceled, Canceled],
  [Code.Unknown, Unknown],
  [Code.InvalidArgument, InvalidArgument],
  [Code.DeadlineExceeded, DeadlineExceeded],
  [Code.NotFound, NotFound],
  [Code.AlreadyExists, AlreadyExists],
  [Code.PermissionDenied, PermissionDenied],
  [Code.ResourceExhausted, ResourceExhausted],
  [Code.FailedPrecondition, FailedPrecondition],
  [Code.Aborted, Aborted],
  [Code.OutOfRange, OutOfRange],
  [Code.Unimplemented, Unimplemented],
  [Code.Internal, Internal],
  [Code.Unavailable, Unavailable],
  [Code.DataLoss, DataLoss],
  [Code.Unauthenticated, Unauthenticated],
]);

/** The typed error for what a call threw: the capability's own class for its status, else the status's class. */
export function toOttavoError(
  error: unknown,
  capability: string | undefined,
  typed: Readonly<Record<string, ReadonlyMap<Code, OttavoErrorClass>>>,
): OttavoError {
  if (error instanceof OttavoError) return error;
  const connect = ConnectError.from(error);
  const specific = capability === undefined ? undefined : typed[capability]?.get(connect.code);
  const Class = specific ?? statusClasses.get(connect.code) ?? Unknown;
  return new Class(connect.code, connect.rawMessage, capability, { cause: error });
}
