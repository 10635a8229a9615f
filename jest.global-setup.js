/**
 * End-to-end tests start the built runtime (runtime-kernel/dist), so they must run
 * the code as it is now: every jest run builds first (`tsc -b`, about 2 s when
 * nothing changed) and refuses to run on a build that fails, instead of testing a
 * stale dist/, then bundles the command (dist/ottavo.js, what users run).
 * OTTAVO_SKIP_BUILD=1 skips it (make test has just built).
 */
const { execFileSync } = require("node:child_process");
const { join } = require("node:path");
const { bundle } = require("./runtime-kernel/scripts/bundle");

module.exports = async function buildBeforeTests() {
  if (process.env.OTTAVO_SKIP_BUILD === "1") return;
  const tsc = join(__dirname, "node_modules", ".bin", "tsc");
  try {
    execFileSync(tsc, ["-b"], { cwd: __dirname, stdio: "pipe" });
  } catch (error) {
    const output = `${error.stdout ?? ""}${error.stderr ?? ""}`.trim();
    throw new Error(`jest: the build failed, so the end-to-end tests would run a stale dist/; fix it first (npx tsc -b):\n${output}`);
  }
  bundle();
};
