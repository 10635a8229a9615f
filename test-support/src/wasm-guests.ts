import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, "..", "..");
/** Built guests, named by a hash of their sources, so a rebuild happens only after an edit. */
export const guestCacheDir = path.join(repoRoot, ".cache", "wasm-guests");

/** Go 1.24 brought go:wasmexport, which the Go guests need. */
const minimumGo = [1, 24];

/**
 * Builds a Go function (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared) from a package
 * of the Go module in moduleDir and returns the .wasm path. Go's build cache and
 * module cache live under .cache, so nothing outside the repository is written.
 */
export async function buildGoGuest(moduleDir: string, pkg: string): Promise<string> {
  const dir = path.resolve(repoRoot, moduleDir);
  const version = await goVersion();
  const sources = [dir, path.join(repoRoot, "sdks", "wasm", "go")];
  const out = cachedPath(`go-${path.basename(pkg)}`, [version, pkg, ...sources.flatMap((d) => listSources(d, [".go", ".mod"]))]);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  await run("go", ["build", "-buildmode=c-shared", "-o", tmp, pkg], {
    cwd: dir,
    env: {
      ...process.env,
      GOOS: "wasip1",
      GOARCH: "wasm",
      GOTOOLCHAIN: "local",
      GOFLAGS: "-mod=mod",
      GOCACHE: path.join(repoRoot, ".cache", "go-build"),
      GOMODCACHE: path.join(repoRoot, ".cache", "go-mod"),
    },
  });
  renameSync(tmp, out);
  return out;
}

/** Builds an AssemblyScript function with the npm assemblyscript compiler and returns the .wasm path. */
export async function buildAssemblyScriptGuest(entry: string): Promise<string> {
  const file = path.resolve(repoRoot, entry);
  const asc = path.join(repoRoot, "node_modules", "assemblyscript", "bin", "asc.js");
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, "node_modules", "assemblyscript", "package.json"), "utf8")) as { version: string };
  const sources = [path.dirname(file), path.join(repoRoot, "sdks", "wasm", "assemblyscript")];
  const out = cachedPath(`as-${path.basename(file, ".ts")}`, [pkg.version, file, ...sources.flatMap((d) => listSources(d, [".ts"]))]);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp.wasm`;
  await run(process.execPath, [asc, file, "-o", tmp, "--runtime", "incremental", "--optimize"], { cwd: repoRoot });
  renameSync(tmp, out);
  return out;
}

/** Assembles WebAssembly text with the npm wabt package and returns the .wasm path. */
export async function buildWatGuest(name: string, wat: string): Promise<string> {
  const out = cachedPath(`wat-${name}`, [wat]);
  if (existsSync(out)) return out;
  const wabt = await (require("wabt") as () => Promise<WabtModule>)();
  const parsed = wabt.parseWat(`${name}.wat`, wat);
  const { buffer } = parsed.toBinary({});
  parsed.destroy();
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, buffer);
  renameSync(tmp, out);
  return out;
}

interface WabtModule {
  parseWat(file: string, text: string): { toBinary(options: object): { buffer: Uint8Array }; destroy(): void };
}

async function goVersion(): Promise<string> {
  let text: string;
  try {
    text = (await run("go", ["env", "GOVERSION"], { env: { ...process.env, GOTOOLCHAIN: "local" } })).stdout.trim();
  } catch {
    throw new Error("the wasm guest tests need Go >= 1.24 on PATH (make test-services installs it)");
  }
  const [major, minor] = text.replace(/^go/, "").split(".").map(Number);
  if (major < minimumGo[0] || (major === minimumGo[0] && minor < minimumGo[1])) {
    throw new Error(`the wasm guest tests need Go >= ${minimumGo.join(".")} (go:wasmexport); found ${text}`);
  }
  return text;
}

function cachedPath(name: string, parts: readonly string[]): string {
  mkdirSync(guestCacheDir, { recursive: true });
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return path.join(guestCacheDir, `${name}-${hash.digest("hex").slice(0, 16)}.wasm`);
}

/** Each source file's path and contents, in a stable order, for the cache key. */
function listSources(dir: string, suffixes: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d).sort()) {
      const p = path.join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (suffixes.some((s) => entry.endsWith(s))) found.push(p, readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return found;
}
