import { constants, promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { InvalidNameError } from "@ottavo/generated/components/file";

/**
 * Keeps every file operation inside the store's root when the root contains
 * symbolic links (or someone plants them while the runtime runs). Names are
 * already checked lexically (file-names.ts); this checks what the file system
 * actually resolves them to:
 *
 * - a file is opened with O_NOFOLLOW (a symlink as the last segment fails with
 *   ELOOP), then the opened descriptor's own path (/proc/self/fd on Linux, which
 *   cannot be swapped after the open) must lie under the root's real path, so a
 *   symlinked directory on the way is caught too, race-free;
 * - a file with more than one hard link is refused: one of its other names may be
 *   outside the root, and which one cannot be told;
 * - a directory about to receive or lose a file must resolve under the root.
 */
export class RootConfinement {
  private constructor(private readonly realRoot: string) {}

  static async of(root: string): Promise<RootConfinement> {
    return new RootConfinement(await fs.realpath(root));
  }

  /** Opens an existing file for reading, inside the root and not through a symlink. */
  async openFile(file: string, name: string): Promise<FileHandle> {
    const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
      throw err.code === "ELOOP" ? symlinkRefused(name) : err;
    });
    try {
      const real = await realPathOf(handle, file);
      if (!this.holds(real)) throw symlinkRefused(name);
      const stats = await handle.stat();
      if (stats.isFile() && stats.nlink > 1) {
        throw new InvalidNameError(`local file store: '${name}' has other hard links, which may lead outside the store's root; refused`);
      }
      return handle;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** The real path of a directory that must be inside the root (for writing into it, or removing from it). */
  async directory(dir: string, name: string): Promise<string> {
    const real = await fs.realpath(dir);
    if (!this.holds(real)) throw symlinkRefused(name);
    return real;
  }

  private holds(real: string): boolean {
    return real === this.realRoot || real.startsWith(this.realRoot.endsWith(path.sep) ? this.realRoot : this.realRoot + path.sep);
  }
}

function symlinkRefused(name: string): InvalidNameError {
  return new InvalidNameError(`local file store: '${name}' is or passes through a symbolic link; links are not followed`);
}

/** The path the kernel has for an open descriptor; where /proc is missing, the path resolved now. */
async function realPathOf(handle: FileHandle, file: string): Promise<string> {
  try {
    return await fs.readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return fs.realpath(file);
  }
}
