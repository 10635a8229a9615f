import { join } from "node:path";
import { Project, ts } from "ts-morph";
import { generateAll } from "../../src/generate";
import { loadSpec } from "../../src/spec-model";

/**
 * Everything the generator writes for the demo fixture must type-check under the
 * project's strict settings. The files are checked in memory with ts-morph, beside
 * the real node_modules, so nothing is written. (The real generated/ is checked by
 * `tsc -b` in make test.)
 */
it("the demo fixture's generated TypeScript type-checks", () => {
  const root = join(__dirname, "..", "..", "..");
  const project = new Project({
    tsConfigFilePath: join(root, "tsconfig.test.json"),
    skipAddingFilesFromTsConfig: true,
  });
  const outDir = join(root, "generated", ".typecheck-fixture");
  for (const file of generateAll(loadSpec(join(__dirname, "..", "fixtures", "demo")))) {
    // The SDK's generated layer imports its hand-written support code (sdks/typescript/src/support),
    // which is written for spec/, not for the fixture: tsc -b type-checks the two together.
    if (file.path.startsWith("sdks/")) continue;
    if (file.path.endsWith(".ts")) project.createSourceFile(join(outDir, file.path), file.content, { overwrite: true });
  }
  const problems = project
    .getPreEmitDiagnostics()
    .map((d) => `${d.getSourceFile()?.getFilePath() ?? "?"}:${d.getLineNumber() ?? 0}: ${ts.flattenDiagnosticMessageText(d.getMessageText() as string | ts.DiagnosticMessageChain, "\n")}`);
  expect(problems).toEqual([]);
});
