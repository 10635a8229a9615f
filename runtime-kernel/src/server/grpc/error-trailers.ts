import type { ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

/**
 * What an error carries beyond its code and message, as trailer fields: its
 * metadata (e.g. InvokeService's dapr-http-status and the target's headers) and
 * its details (grpc-status-details-bin, a google.rpc.Status), as Connect-ES
 * writes them on the other path. undefined for a plain error, so the common case
 * allocates nothing. The caller sets grpc-status and grpc-message itself.
 */
export function errorTrailerFields(error: ConnectError): Record<string, string> | undefined {
  if (error.details.length === 0 && isEmpty(error.metadata)) return undefined;
  const fields: Record<string, string> = {};
  setTrailerStatus(new Headers(), error).forEach((value, name) => {
    if (name !== "grpc-status" && name !== "grpc-message" && name !== "content-type" && name !== "content-length") fields[name] = value;
  });
  return fields;
}

function isEmpty(headers: Headers): boolean {
  for (const _ of headers.keys()) return false;
  return true;
}
