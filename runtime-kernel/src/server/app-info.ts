import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";

/** The body of /actuator/info under "app", as Layotto shapes it. */
export interface AppInfo {
  readonly name: string;
  readonly version: string;
  /** When this build was compiled (ISO 8601), or "" when running from sources. */
  readonly compiled: string;
}

/**
 * The version comes from the package's package.json: two folders up from src/server
 * and dist/server, one up from the bundled dist/ottavo.js. "compiled" is the
 * modification time of this compiled file, so it is the same for every run of one
 * build; under ts-jest there is no build: "".
 */
export function readAppInfo(): AppInfo {
  let version = "";
  for (const packageRoot of [path.resolve(__dirname, "..", ".."), path.resolve(__dirname, "..")]) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (manifest.name !== "@ottavo/runtime-kernel") continue;
      version = String(manifest.version ?? "");
      break;
    } catch {
      // An unreadable package.json leaves the version empty rather than failing the actuator.
    }
  }
  let compiled = "";
  if (__filename.endsWith(".js")) {
    try {
      compiled = statSync(__filename).mtime.toISOString();
    } catch {
      compiled = "";
    }
  }
  return { name: "ottavo", version, compiled };
}
