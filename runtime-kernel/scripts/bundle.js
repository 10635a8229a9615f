/**
 * The `ottavo` command as one file: dist/ottavo.js, the runtime and the packages it
 * loads at start bundled by esbuild from tsc's output (dist/command.js, which runs cli.js). Node's module
 * loader (resolving, reading and wrapping some 400 files) was half of the start-up
 * time; one file halves start-to-ready (bench/RESULTS.md).
 *
 * Packages the runtime loads only when a component or feature needs them stay
 * external, so they cost nothing in memory until used; bundling one by mistake
 * would still work (esbuild evaluates a bundled module on first require), only
 * hold its source in memory from the start.
 */
const { buildSync } = require("esbuild");
const { renameSync, statSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const loadedOnDemand = ["ioredis", "kafkajs", "etcd3", "prom-client", "@opentelemetry/*", "pino", "pino-*", "binaryen"];

const dist = join(__dirname, "..", "dist");
const bundleFile = join(dist, "ottavo.js");

/** Writes dist/ottavo.js (and its map); each file is renamed into place, so a concurrent reader never sees half of one. */
function bundle() {
  const { outputFiles } = buildSync({
    entryPoints: [join(dist, "command.js")],
    outfile: bundleFile,
    write: false,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: loadedOnDemand,
    // Whitespace only: names and lines stay readable in stack traces; the source map maps them back.
    minifyWhitespace: true,
    sourcemap: "linked",
    logLevel: "warning",
  });
  for (const { path, contents } of outputFiles) {
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, contents, { mode: 0o755 });
    renameSync(partial, path);
  }
}

/**
 * Bundles when dist/ottavo.js is missing or older than tsc's last build of any
 * workspace package (each build that emits rewrites the package's tsbuildinfo).
 */
function bundleIfStale() {
  const { workspacePackages } = require("../../workspace-packages");
  const root = join(__dirname, "..", "..");
  const mtime = (file) => {
    try {
      return statSync(file).mtimeMs;
    } catch {
      return -1;
    }
  };
  const buildInfos = workspacePackages(root).flatMap(({ dir }) => [join(root, dir, "tsconfig.tsbuildinfo"), join(root, dir, "dist", "tsconfig.tsbuildinfo")]);
  const built = Math.max(...buildInfos.map(mtime));
  if (mtime(bundleFile) < built) bundle();
}

if (require.main === module) bundle();
module.exports = { bundle, bundleIfStale, bundleFile };
