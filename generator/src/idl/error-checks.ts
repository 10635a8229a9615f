/** Checks an error declaration shares, whether a capability declares it or it is shared by all. */
import type { ErrorAst, Name } from "./ast";
import type { Diagnostics } from "./diagnostics";
import { GRPC_STATUS_NAMES, isGrpcStatusName } from "./grpc-status";
import type { ErrorDecl } from "./model";

/** The generated class adds "Error"; a name that already ends in it is reported. */
export function checkErrorSuffix(diag: Diagnostics, name: Name): boolean {
  if (!name.text.endsWith("Error")) return true;
  diag.error(name.loc, `error name '${name.text}' ends in 'Error'; the generated class adds it (write '${name.text.slice(0, -5)}')`);
  return false;
}

/** The error's model, or undefined (reported) when its status is not a gRPC status name. */
export function checkErrorStatus(diag: Diagnostics, e: ErrorAst): ErrorDecl | undefined {
  if (!isGrpcStatusName(e.status.text)) {
    diag.error(e.status.loc, `unknown status '${e.status.text}' for error '${e.name.text}' (expected a gRPC status code: ${GRPC_STATUS_NAMES.join(", ")})`);
    return undefined;
  }
  return { name: e.name.text, doc: e.doc, loc: e.name.loc, status: e.status.text };
}
