import { readFileSync } from "node:fs";
import { join } from "node:path";
import { withHeader, type OutputFile } from "../output/output-file";
import { tsOutputRoot } from "./es-plugin";

/**
 * The hand-written code generated code calls into (component base, metadata
 * parsing, adapter binding). It lives as ordinary, type-checked TypeScript in
 * generator/src/support and ships inside generated/components, so the generated
 * package depends on nothing of ours.
 */
const supportNames = ["component", "metadata", "adapter", "serial-delivery", "sequencer-floors"] as const;
export type SupportName = (typeof supportNames)[number];

/** The import path of a support module, relative to the TypeScript output root. */
export function supportModule(name: SupportName): string {
  return `./components/${name}`;
}

export function supportFiles(): OutputFile[] {
  return supportNames.map((name) => {
    const source = `generator/src/support/${name}.ts`;
    const text = readFileSync(join(__dirname, "..", "..", "src", "support", `${name}.ts`), "utf8");
    return withHeader(`${tsOutputRoot}/${supportModule(name).slice(2)}.ts`, source, text);
  });
}
