import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createFileRegistry, type DescMessage, type FileRegistry } from "@bufbuild/protobuf";
import { ModuleKind, ScriptTarget, transpileModule } from "typescript";
import { generateAll } from "../../src/generate";
import { loadIdl } from "../../src/idl";
import { loadProtos } from "../../src/load/protos";
import type { SpecModel } from "../../src/spec-model";
import { codecsTarget } from "../../src/targets/codecs-target";
import type { MessageCodec as Codec } from "@ottavo/component-runtime";

const repoRoot = join(__dirname, "..", "..", "..");

/** The generated codecs of a fixture spec, compiled and loaded, beside protobuf-es's view of the same protos. */
export interface LoadedCodecs {
  readonly codecs: Readonly<Record<string, Codec>>;
  readonly registry: FileRegistry;
  schema(typeName: string): DescMessage;
  /** Removes the compiled files. */
  dispose(): void;
}

/**
 * Runs the codecs target over the fixture protos under `root` (the codecs import
 * only types from the messages), transpiles its output to CommonJS in a scratch
 * folder inside the repository (so @bufbuild/protobuf resolves from its
 * node_modules) and requires it.
 */
export function loadFixtureCodecs(root: string): LoadedCodecs {
  const protos = loadProtos({ cwd: root }, (name) => name.startsWith("spec/"));
  const spec: SpecModel = { root, protos, idl: loadIdl([], protos.registry) };
  mkdirSync(join(repoRoot, ".cache"), { recursive: true });
  const out = mkdtempSync(join(repoRoot, ".cache", "codec-fixture-"));
  for (const file of generateAll(spec, [codecsTarget])) {
    if (!file.path.endsWith(".ts")) continue;
    const js = transpileModule(file.content, {
      compilerOptions: { module: ModuleKind.CommonJS, target: ScriptTarget.ES2022 },
    }).outputText;
    const path = join(out, file.path.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, js);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { codecs } = require(join(out, "generated", "codecs", "index.js")) as { codecs: Record<string, Codec> };
  const registry = createFileRegistry(protos.set);
  return {
    codecs,
    registry,
    schema(typeName) {
      const desc = registry.getMessage(typeName);
      if (!desc) throw new Error(`no message ${typeName} in the fixture`);
      return desc;
    },
    dispose: () => rmSync(out, { recursive: true, force: true }),
  };
}
