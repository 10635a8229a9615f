import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * @ottavo/sdk as a user's code loads it: the built package, by name, with
 * `require` (dist/cjs) and with `import` (dist/esm). make test builds both first.
 */
const root = join(__dirname, "..", "..", "..");
const exportsToCheck = "[typeof sdk.createOttavoClient, typeof sdk.OttavoClient, typeof sdk.EtagMismatch, new sdk.EtagMismatch(10, 'x', 'state') instanceof sdk.Aborted].join(' ')";

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" }).trim();
}

it.each(["cjs", "esm"])("the %s build exists (make test builds it)", (kind) => {
  expect(existsSync(join(root, "sdks", "typescript", "dist", kind, "index.js"))).toBe(true);
});

it("require('@ottavo/sdk') loads the CommonJS build", () => {
  expect(node(["-e", `const sdk = require("@ottavo/sdk"); console.log(require.resolve("@ottavo/sdk").includes("dist/cjs"), ${exportsToCheck})`]))
    .toBe("true function function function true");
});

it("import '@ottavo/sdk' loads the ES module build", () => {
  expect(node(["--input-type=module", "-e", `import * as sdk from "@ottavo/sdk"; console.log(import.meta.resolve("@ottavo/sdk").includes("dist/esm"), ${exportsToCheck})`]))
    .toBe("true function function function true");
});
