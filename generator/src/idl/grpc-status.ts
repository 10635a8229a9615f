/** The gRPC canonical status codes an IDL error may map to (OK is not an error). */
export const GRPC_STATUS_NAMES = [
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

export type GrpcStatusName = (typeof GRPC_STATUS_NAMES)[number];

export function isGrpcStatusName(name: string): name is GrpcStatusName {
  return (GRPC_STATUS_NAMES as readonly string[]).includes(name);
}
