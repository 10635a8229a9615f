import type { ConnectError } from "@connectrpc/connect";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { ComponentError } from "@ottavo/component-runtime";

/** The domain of the ErrorInfo the runtime attaches to a component's declared error. */
export const errorInfoDomain = "ottavo.dev";

/** The type name a detail carries in grpc-status-details-bin (google.protobuf.Any's type_url, after the prefix). */
export const errorInfoType = "google.rpc.ErrorInfo";

type Detail = ConnectError["details"][number];

/** One encoded detail per declared error, made on its first failure: an error path allocates no detail of its own. */
const details = new Map<string, Detail>();

/**
 * The machine-readable name of a component's declared error, as a
 * google.rpc.ErrorInfo detail: reason is the IDL error's name ("EtagMismatch",
 * "InvalidName"), domain "ottavo.dev", and metadata "capability" names the
 * capability that declares it (absent for the errors every capability shares,
 * spec/components/errors.cap). Clients read it to tell apart errors that share a
 * status (state's EtagInvalid and a bad request are both INVALID_ARGUMENT).
 */
export function componentErrorDetail(error: ComponentError): Detail {
  const key = `${error.capability ?? ""}/${error.errorName}`;
  let detail = details.get(key);
  if (detail === undefined) {
    const metadata: Record<string, string> = error.capability === undefined ? {} : { capability: error.capability };
    detail = { type: errorInfoType, value: encodeErrorInfo(error.errorName, errorInfoDomain, metadata) };
    details.set(key, detail);
  }
  return detail;
}

/** google.rpc.ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; } */
export function encodeErrorInfo(reason: string, domain: string, metadata: Readonly<Record<string, string>>): Uint8Array {
  const writer = new BinaryWriter();
  writer.uint32((1 << 3) | 2).string(reason);
  writer.uint32((2 << 3) | 2).string(domain);
  for (const [key, value] of Object.entries(metadata)) {
    writer.uint32((3 << 3) | 2).fork().uint32((1 << 3) | 2).string(key).uint32((2 << 3) | 2).string(value).join();
  }
  return writer.finish();
}
