import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { isBuildProduct, mixedOutputRoots, noticePrefix, outputRoots, type OutputFile } from "./output-file";

export interface OutputDiff {
  /** Paths whose content on disk differs from what the spec generates. */
  readonly changed: string[];
  /** Paths the spec generates that are not on disk. */
  readonly missing: string[];
  /** Paths on disk under an output root that the spec no longer generates. */
  readonly stale: string[];
}

/** Compares the generated set with the files under the output roots of root. */
export function diffOutput(root: string, files: readonly OutputFile[]): OutputDiff {
  const onDisk = new Set(listOutputFiles(root));
  const changed: string[] = [];
  const missing: string[] = [];
  for (const file of files) {
    if (!onDisk.delete(file.path)) missing.push(file.path);
    else if (readFileSync(join(root, file.path), "utf8") !== file.content) changed.push(file.path);
  }
  return { changed, missing, stale: [...onDisk].sort() };
}

export function isClean(diff: OutputDiff): boolean {
  return diff.changed.length + diff.missing.length + diff.stale.length === 0;
}

/** Brings the output roots in line with files: writes what differs, removes what is stale. */
export function writeOutput(root: string, files: readonly OutputFile[]): OutputDiff {
  const diff = diffOutput(root, files);
  const toWrite = new Set([...diff.changed, ...diff.missing]);
  for (const file of files) {
    if (!toWrite.has(file.path)) continue;
    const target = join(root, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
  }
  for (const path of diff.stale) rmSync(join(root, path));
  return diff;
}

function listOutputFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, headedOnly = false): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split(sep).join("/");
      if (isBuildProduct(rel)) continue;
      if (entry.isDirectory()) walk(path, headedOnly);
      else if (!headedOnly || isHeadedAsGenerated(path)) found.push(rel);
    }
  };
  for (const outRoot of outputRoots) walk(join(root, outRoot));
  for (const outRoot of mixedOutputRoots) walk(join(root, outRoot), true);
  return found.sort();
}

/** The notice sits in a file's first lines (after a shebang or an encoding line at most). */
function isHeadedAsGenerated(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(300);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString("utf8").includes(noticePrefix);
  } finally {
    closeSync(fd);
  }
}
