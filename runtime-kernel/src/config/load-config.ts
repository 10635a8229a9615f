import { constants } from "node:fs";
import { open, stat } from "node:fs/promises";
import * as path from "node:path";
import { ConfigError } from "./config-error";
import { parseLayottoConfig } from "./layotto-config";
import { parseOttavoConfig } from "./ottavo-config";
import type { RuntimeConfig } from "./runtime-config";

/**
 * Reads a config file: .json is Layotto's config.json, .yaml/.yml is Ottavo's
 * own format; any other name is judged by its first character ("{" means JSON).
 * `file` is kept as given for messages; the config folder is resolved from it.
 */
export async function loadConfig(file: string, readTimeoutMs = configReadTimeoutMs): Promise<RuntimeConfig> {
  return parseConfigText(await readConfigText(file, readTimeoutMs), file);
}

/** How long reading the config file may take (a hung network mount must not hang the start). */
export const configReadTimeoutMs = 10_000;

/**
 * The file's text. Only a regular file is read: a FIFO would block the start
 * until something writes to it, and the thread reading it would ignore signals.
 * The read itself is bounded by a timeout for the same reason.
 */
async function readConfigText(file: string, timeoutMs: number): Promise<string> {
  const cannot = (why: string) => new ConfigError([`${file}: cannot read the config file: ${why}`]);
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw cannot("is a directory");
    if (!info.isFile()) throw cannot("not a regular file (a FIFO, socket or device cannot be a config file)");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(cannot(`reading it took longer than ${timeoutMs / 1000} s`)), timeoutMs);
    });
    // O_NONBLOCK: should the file be swapped for a FIFO after the check, opening it does not wait for a writer.
    const reading = open(file, constants.O_RDONLY | constants.O_NONBLOCK).then(async (handle) => {
      try {
        return await handle.readFile("utf8");
      } finally {
        await handle.close();
      }
    });
    reading.catch(() => undefined);
    try {
      return await Promise.race([reading, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw cannot(why);
  }
}

/** Parses config text that was read from `file`. */
export function parseConfigText(text: string, file: string): RuntimeConfig {
  const configDir = path.dirname(path.resolve(file));
  const extension = path.extname(file).toLowerCase();
  const isJson = extension === ".json" || (extension !== ".yaml" && extension !== ".yml" && text.trimStart().startsWith("{"));
  return isJson ? parseLayottoConfig(text, file, configDir) : parseOttavoConfig(text, file, configDir);
}
