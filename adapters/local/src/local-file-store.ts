import { constants, promises as fs, type Dirent } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import {
  InvalidNameError,
  type FileInfo,
  type FileMeta,
  type FileRequest,
  type ListRequest,
  type ListResult,
} from "@ottavo/generated/components/file";
import { defineLocalFileAdapter, type LocalFile } from "@ottavo/generated/components/adapters/local";
import { toFileError } from "./file-errors";
import { resolveDirectoryName, resolveFileName, tempPrefix } from "./file-names";
import { RootConfinement } from "./root-confinement";

/** Chunk size of get, as upstream Layotto streams files. */
export const chunkSize = 100 * 1024;

/**
 * The "local" file component: files under rootDir (relative to the config file's
 * folder, created when missing). list shows the regular files directly in one
 * directory (symlinks, subdirectories and files still being written left out), in
 * code-unit order of their names. Symlinks are never followed (root-confinement.ts). A page's marker is its last
 * name when more follow, "" otherwise; the next page starts after it.
 */
export const localFileAdapter = defineLocalFileAdapter(async (metadata, context) => {
  const root = path.resolve(context.configDir, metadata.rootDir);
  try {
    await fs.mkdir(root, { recursive: true });
    if (!(await fs.stat(root)).isDirectory()) throw new Error("it is not a directory");
  } catch (err) {
    throw new Error(
      `local file store '${context.componentName}': cannot use rootDir ${root}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return new LocalFileStore(root, await RootConfinement.of(root));
});

class LocalFileStore implements LocalFile {
  readonly features = new Set<never>();

  constructor(
    private readonly root: string,
    private readonly confinement: RootConfinement,
  ) {}

  get(request: FileRequest): AsyncIterable<Uint8Array> {
    return this.read(request.name);
  }

  // Opening happens on the first next(), so a missing file fails before any chunk.
  private async *read(name: string): AsyncGenerator<Uint8Array> {
    let handle: FileHandle | undefined;
    try {
      handle = await this.confinement.openFile(resolveFileName(this.root, name), name);
      if (!(await handle.stat()).isFile()) throw new InvalidNameError(`local file store: '${name}' is not a file`);
    } catch (err) {
      await handle?.close();
      throw toFileError(err, "read", name);
    }
    try {
      for (;;) {
        const chunk = Buffer.allocUnsafe(chunkSize);
        let filled = 0;
        while (filled < chunkSize) {
          const { bytesRead } = await handle.read(chunk, filled, chunkSize - filled, null);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        if (filled === chunkSize) {
          yield chunk;
          continue;
        }
        // The tail is copied so a small last chunk does not pin a 100 KiB buffer.
        if (filled > 0) yield Uint8Array.prototype.slice.call(chunk, 0, filled);
        return;
      }
    } catch (err) {
      throw toFileError(err, "read", name);
    } finally {
      await handle.close();
    }
  }

  async put(request: FileRequest, data: AsyncIterable<Uint8Array>): Promise<void> {
    const named = resolveFileName(this.root, request.name);
    let dir = path.dirname(named);
    // The temp file sits beside the target so the final rename never crosses file systems.
    let temp: string | undefined;
    let handle: FileHandle | undefined;
    let readingStream = false;
    try {
      await fs.mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
        // EEXIST here means a file stands where a directory of the name should be.
        throw err.code === "EEXIST" ? new InvalidNameError(`local file store: a part of '${request.name}' is a file`, err) : err;
      });
      // Written through the directory's real path, checked inside the root after it exists.
      dir = await this.confinement.directory(dir, request.name);
      temp = path.join(dir, tempPrefix + randomBytes(8).toString("hex"));
      handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW);
      readingStream = true;
      for await (const chunk of data) {
        readingStream = false;
        await writeAll(handle, chunk);
        readingStream = true;
      }
      readingStream = false;
      // Synced before the rename: once put resolves, the data survives a crash.
      await handle.datasync();
      await handle.close();
      handle = undefined;
      // rename replaces a symlink planted at the name itself; it never writes through one.
      await fs.rename(temp, path.join(dir, path.basename(named)));
    } catch (err) {
      await handle?.close().catch(() => undefined);
      if (temp !== undefined) await fs.rm(temp, { force: true }).catch(() => undefined);
      // A failure of the caller's own stream is passed on as it is.
      throw readingStream ? err : toFileError(err, "write", request.name);
    }
    await syncDirectory(dir);
  }

  async list(request: ListRequest): Promise<ListResult> {
    // pageSize is a whole number, at least 1 (file.cap, checked by the adapter binding).
    const { pageSize, marker } = request;
    const { dir, prefix } = resolveDirectoryName(this.root, request.name);
    let entries: Dirent[];
    try {
      entries = await fs.readdir(await this.confinement.directory(dir, request.name), { withFileTypes: true });
    } catch (err) {
      throw toFileError(err, "list", request.name === "" ? "/" : request.name);
    }
    // Symlinks are left out: reading one is refused (they could lead outside the root).
    const candidates = entries
      .filter((e) => e.isFile() && !e.name.startsWith(tempPrefix))
      .map((e) => ({ name: prefix + e.name, surelyFile: e.isFile() }))
      .filter((c) => marker === "" || c.name > marker)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

    const files: FileInfo[] = [];
    let next = 0;
    while (files.length < pageSize && next < candidates.length) {
      // Stats run in parallel, at most one page's worth at a time.
      const batch = candidates.slice(next, next + pageSize - files.length);
      next += batch.length;
      const infos = await Promise.all(batch.map((c) => this.fileInfo(c.name)));
      for (const info of infos) if (info !== undefined) files.push(info);
    }
    let truncated = false;
    for (; next < candidates.length && !truncated; next++) {
      truncated = candidates[next].surelyFile || (await this.fileInfo(candidates[next].name)) !== undefined;
    }
    return { files, marker: truncated ? files[files.length - 1].name : "", truncated };
  }

  async delete(request: FileRequest): Promise<void> {
    try {
      const named = resolveFileName(this.root, request.name);
      const dir = await this.confinement.directory(path.dirname(named), request.name);
      const target = path.join(dir, path.basename(named));
      if ((await fs.lstat(target)).isSymbolicLink()) {
        throw new InvalidNameError(`local file store: '${request.name}' is a symbolic link; links are not followed`);
      }
      await fs.unlink(target);
    } catch (err) {
      throw toFileError(err, "delete", request.name);
    }
  }

  async stat(request: FileRequest): Promise<FileMeta> {
    try {
      const handle = await this.confinement.openFile(resolveFileName(this.root, request.name), request.name);
      const stats = await handle.stat().finally(() => handle.close());
      if (!stats.isFile()) throw new InvalidNameError(`local file store: '${request.name}' is not a file`);
      return { size: BigInt(stats.size), lastModified: stats.mtime.toISOString(), metadata: {} };
    } catch (err) {
      throw toFileError(err, "stat", request.name);
    }
  }

  async health(): Promise<void> {
    await fs.access(this.root, constants.R_OK);
  }

  async close(): Promise<void> {}

  /** The listing entry of a name, or undefined when it is not (or no longer) a regular file. */
  private async fileInfo(name: string): Promise<FileInfo | undefined> {
    try {
      const stats = await fs.stat(path.join(this.root, name));
      if (!stats.isFile()) return undefined;
      return { name, size: BigInt(stats.size), lastModified: stats.mtime.toISOString(), metadata: {} };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw toFileError(err, "list", name);
    }
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let written = 0;
  while (written < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.byteLength - written, null);
    written += bytesWritten;
  }
}

/** Makes the rename itself durable; best effort, as some platforms cannot sync a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, "r");
    await handle.sync();
  } catch {
    // The file is in place either way; only its survival of a power cut is less certain.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
