/**
 * The package map, in one place: the workspaces of the root package.json, each with
 * its package name and where its sources are. jest maps names to sources from it;
 * tsconfig.json's references and tsconfig.tests.json's paths are checked against it
 * (runtime-kernel/test/layering.test.ts), since JSON cannot compute.
 */
const { readFileSync, readdirSync, existsSync } = require("node:fs");
const { join } = require("node:path");

function workspacePackages(root = __dirname) {
  const patterns = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).workspaces;
  const dirs = patterns.flatMap((pattern) =>
    pattern.endsWith("/*")
      ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((e) => e.isDirectory() && existsSync(join(root, pattern.slice(0, -2), e.name, "package.json")))
          .map((e) => `${pattern.slice(0, -2)}/${e.name}`)
          .sort()
      : [pattern],
  );
  return dirs.map((dir) => {
    const { name } = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    // @ottavo/generated is imported by subpath and has no src/ (its files are the sources).
    return { name, dir, source: existsSync(join(root, dir, "src")) ? "src" : "." };
  });
}

module.exports = { workspacePackages };
