import {
  AlreadyExistsError,
  InvalidNameError,
  NotFoundError,
  PermissionDeniedError,
} from "@ottavo/generated/components/file";
import { ComponentError } from "@ottavo/component-runtime";

/**
 * Turns a Node file-system error into the file capability's declared error, so the
 * API answers NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED or INVALID_ARGUMENT as
 * Layotto does. Errors it does not know (EIO, ENOSPC, a caller's failing stream)
 * come back unchanged and reach the caller as INTERNAL.
 */
export function toFileError(err: unknown, operation: string, name: string): unknown {
  if (err instanceof ComponentError) return err;
  const code = errnoCode(err);
  const what = `local file store: cannot ${operation} '${name}'`;
  switch (code) {
    case "ENOENT":
      return new NotFoundError(`${what}: no such file`, err);
    case "EEXIST":
    case "ENOTEMPTY":
      return new AlreadyExistsError(`${what}: it already exists`, err);
    case "EACCES":
    case "EPERM":
      return new PermissionDeniedError(`${what}: the file system refuses it (${code})`, err);
    case "EISDIR":
      return new InvalidNameError(`${what}: it is a directory`, err);
    case "ENOTDIR":
      return new InvalidNameError(`${what}: a part of the path is not a directory`, err);
    case "EINVAL":
    case "ENAMETOOLONG":
      return new InvalidNameError(`${what}: the file system does not accept the name (${code})`, err);
    default:
      return err;
  }
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
