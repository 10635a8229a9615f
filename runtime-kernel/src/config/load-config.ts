import { readFile } from "node:fs/promises";
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
export async function loadConfig(file: string): Promise<RuntimeConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (error as Error).message;
    throw new ConfigError([`${file}: cannot read the config file: ${why}`]);
  }
  return parseConfigText(text, file);
}

/** Parses config text that was read from `file`. */
export function parseConfigText(text: string, file: string): RuntimeConfig {
  const configDir = path.dirname(path.resolve(file));
  const extension = path.extname(file).toLowerCase();
  const isJson = extension === ".json" || (extension !== ".yaml" && extension !== ".yml" && text.trimStart().startsWith("{"));
  return isJson ? parseLayottoConfig(text, file, configDir) : parseOttavoConfig(text, file, configDir);
}
