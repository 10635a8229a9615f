import * as path from "node:path";
import { InvalidNameError } from "@ottavo/generated/components/file";

/**
 * Files being written start with this prefix until they are renamed into place;
 * names using it are refused so a caller can never read or clobber a half-written file.
 */
export const tempPrefix = ".ottavo-put-";

/**
 * Checks a file name from a request and returns its absolute path under root.
 * Names are "/"-separated and relative; anything that could leave the root
 * (absolute paths, "..", NUL, backslashes, which separate paths on Windows) is
 * refused rather than normalised, so one file has exactly one name.
 */
export function resolveFileName(root: string, name: string): string {
  if (name === "") throw new InvalidNameError("local file store: the file name is empty");
  return resolveSegments(root, name, name.split("/"));
}

/** Like resolveFileName for a directory to list: empty means the root, one trailing "/" is allowed. */
export function resolveDirectoryName(root: string, name: string): { dir: string; prefix: string } {
  const trimmed = name.endsWith("/") ? name.slice(0, -1) : name;
  if (trimmed === "") return { dir: root, prefix: "" };
  return { dir: resolveSegments(root, name, trimmed.split("/")), prefix: `${trimmed}/` };
}

function resolveSegments(root: string, name: string, segments: string[]): string {
  const refuse = (why: string) =>
    new InvalidNameError(`local file store: the name ${JSON.stringify(name)} ${why}`);
  if (name.includes("\0")) throw refuse("contains a NUL character");
  if (name.includes("\\")) throw refuse("contains a backslash; use \"/\" between directories");
  if (name.startsWith("/")) throw refuse("is absolute; names are relative to the store's root");
  for (const segment of segments) {
    if (segment === "") throw refuse("has an empty path segment");
    if (segment === "." || segment === "..") throw refuse(`has a '${segment}' segment; names may not leave or walk the root`);
    if (segment.startsWith(tempPrefix)) throw refuse(`uses the reserved prefix '${tempPrefix}'`);
  }
  const resolved = path.resolve(root, ...segments);
  // Belt and braces: whatever the checks above missed, the result must stay inside root.
  const inside = root.endsWith(path.sep) ? root : root + path.sep;
  if (!resolved.startsWith(inside)) throw refuse("leaves the store's root");
  return resolved;
}
