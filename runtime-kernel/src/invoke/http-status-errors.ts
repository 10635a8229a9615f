import { STATUS_CODES } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { encodeErrorInfo, errorInfoType } from "../errors/error-info";

/** Dapr's response header carrying the target's HTTP status, on success and failure alike. */
export const httpStatusHeader = "dapr-http-status";

/**
 * The most of an error body kept in the error's details. The details travel in a
 * trailer (grpc-status-details-bin, base64) and gRPC clients cap the size of
 * header lists, so a larger body is cut here rather than making the client fail
 * the whole answer.
 */
export const maxErrorBodyBytes = 4096;

/**
 * Dapr's mapping of a target's HTTP status to the gRPC code InvokeService answers
 * with (dapr/dapr pkg/messaging/v1/util.go CodeFromHTTPStatus): 2xx is OK, the
 * statuses below have a code of their own, every other status is UNKNOWN.
 */
export function codeFromHttpStatus(status: number): Code | undefined {
  if (status >= 200 && status < 300) return undefined;
  switch (status) {
    case 408:
      return Code.Canceled;
    case 500:
      return Code.Unknown;
    case 400:
      return Code.Internal;
    case 504:
      return Code.DeadlineExceeded;
    case 404:
      return Code.NotFound;
    case 409:
      return Code.AlreadyExists;
    case 403:
      return Code.PermissionDenied;
    case 401:
      return Code.Unauthenticated;
    case 429:
      return Code.ResourceExhausted;
    case 501:
      return Code.Unimplemented;
    case 503:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

/**
 * The error for a non-2xx answer, shaped as Dapr shapes it so Dapr-aware clients
 * read it: the message is the status text, the details hold a google.rpc.ErrorInfo
 * (reason: status text, domain "dapr.io", metadata "http.code" and
 * "http.error_message" = the body, up to maxErrorBodyBytes), and the metadata
 * carries dapr-http-status plus the answer's own headers.
 */
export function httpStatusError(
  status: number,
  body: Uint8Array,
  headers: ReadonlyArray<readonly [string, string]>,
): ConnectError {
  const code = codeFromHttpStatus(status) ?? Code.Unknown;
  const text = STATUS_CODES[status] ?? `HTTP ${status}`;
  const metadata = new Headers();
  for (const [name, value] of headers) metadata.append(name, value);
  metadata.set(httpStatusHeader, String(status));
  const kept = body.length > maxErrorBodyBytes ? body.subarray(0, maxErrorBodyBytes) : body;
  const detail = { type: errorInfoType, value: encodeErrorInfo(text, "dapr.io", {
    "http.code": String(status),
    "http.error_message": Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString("utf8"),
  }) };
  const error = new ConnectError(text, code, metadata);
  error.details.push(detail);
  return error;
}
