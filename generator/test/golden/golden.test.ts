import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { generateAll } from "../../src/generate";
import { loadSpec } from "../../src/spec-model";
import { targets } from "../../src/targets";

/**
 * Golden files: each target's output for the demo fixture spec, checked in under
 * test/golden/<target>/. A difference fails; UPDATE_GOLDEN=1 rewrites them.
 */
const fixture = join(__dirname, "..", "fixtures", "demo");
const update = process.env.UPDATE_GOLDEN === "1";
const spec = loadSpec(fixture);

describe.each(targets.map((t) => [t.name, t] as const))("target %s", (name, target) => {
  const goldenDir = join(__dirname, name);
  const files = generateAll(spec, [target]);

  if (update) {
    rmSync(goldenDir, { recursive: true, force: true });
    for (const file of files) {
      const path = join(goldenDir, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
    }
  }

  it("produces exactly the golden files", () => {
    const golden = existsSync(goldenDir) ? listFiles(goldenDir).map((p) => relative(goldenDir, p)) : [];
    expect(files.map((f) => f.path).sort()).toEqual(golden.sort());
  });

  it.each(files.map((f) => [f.path, f] as const))("%s matches its golden file (UPDATE_GOLDEN=1 rewrites)", (path, file) => {
    expect(file.content).toBe(readFileSync(join(goldenDir, path), "utf8"));
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}
