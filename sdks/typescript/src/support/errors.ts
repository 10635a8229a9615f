import { Code, ConnectError } from "@connectrpc/connect";
import { BinaryReader } from "@bufbuild/protobuf/wire";

/**
 * Every failed call throws an OttavoError: one class per gRPC status below, or
 * a typed error of spec/components (EtagMismatch, FileNotFound, ...) that extends
 * its status's class, so `instanceof NotFound` holds for FileNotFound too.
 */
export class OttavoError extends Error {
  override readonly name: string = "OttavoError";
  /** The IDL error's name the runtime sent ("EtagInvalid", "Unavailable"), or undefined when it sent none. */
  readonly reason: string | undefined;
  constructor(
    /** The gRPC status, as Connect's Code. */
    readonly code: Code,
    /** The runtime's message, without a status prefix. */
    readonly rawMessage: string,
    /** The capability whose call failed ("state"), or undefined for the client's own calls. */
    readonly capability: string | undefined,
    options?: ErrorOptions,
  ) {
    super(`${Code[code] ?? code}: ${rawMessage}`, options);
    this.reason = options?.reason;
  }
}

/** What an OttavoError is made with besides its status. */
export interface ErrorOptions {
  cause?: unknown;
  reason?: string;
}

export type OttavoErrorClass = new (code: Code, rawMessage: string, capability: string | undefined, options?: ErrorOptions) => OttavoError;

/** A capability's typed errors: by the ErrorInfo reason the runtime sends, and by a status that alone names one. */
export interface TypedErrors {
  readonly reasons: ReadonlyMap<string, OttavoErrorClass>;
  readonly statuses: ReadonlyMap<Code, OttavoErrorClass>;
}

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

/**
 * The typed error for what a call threw. A google.rpc.ErrorInfo of `domain`
 * names the declared error (its reason, and its capability in the metadata);
 * without one, the called capability's class for the status, else the status's class.
 */
export function toOttavoError(
  error: unknown,
  capability: string | undefined,
  typed: Readonly<Record<string, TypedErrors>>,
  domain: string,
): OttavoError {
  if (error instanceof OttavoError) return error;
  const connect = ConnectError.from(error);
  const info = errorInfoOf(connect, domain);
  const specific = info !== undefined
    ? typed[info.metadata["capability"] ?? ""]?.reasons.get(info.reason)
    : capability === undefined ? undefined : typed[capability]?.statuses.get(connect.code);
  const Class = specific ?? statusClasses.get(connect.code) ?? Unknown;
  return new Class(connect.code, connect.rawMessage, capability, info === undefined ? { cause: error } : { cause: error, reason: info.reason });
}

interface ErrorInfo {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

/** The first google.rpc.ErrorInfo of the domain among the error's details. */
function errorInfoOf(error: ConnectError, domain: string): ErrorInfo | undefined {
  for (const detail of error.details) {
    if (!("type" in detail) || detail.type !== "google.rpc.ErrorInfo") continue;
    try {
      const info = decodeErrorInfo(detail.value);
      if (info.domain === domain) return info;
    } catch {
      // A detail that does not decode names nothing.
    }
  }
  return undefined;
}

/** google.rpc.ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; } */
function decodeErrorInfo(bytes: Uint8Array): ErrorInfo {
  const reader = new BinaryReader(bytes);
  const info: ErrorInfo = { reason: "", domain: "", metadata: {} };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) info.reason = reader.string();
    else if (field === 2) info.domain = reader.string();
    else if (field === 3) {
      const entry = new BinaryReader(reader.bytes());
      let key = "";
      let value = "";
      while (entry.pos < entry.len) {
        const [f, w] = entry.tag();
        if (f === 1) key = entry.string();
        else if (f === 2) value = entry.string();
        else entry.skip(w);
      }
      info.metadata[key] = value;
    } else reader.skip(wireType);
  }
  return info;
}
