import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { loadIdl, type IdlModel } from "./idl";
import { loadSpecProtos, type ProtoSpec } from "./load/protos";

/** Everything `make gen` reads: the compiled protos and the checked capability IDL. */
export interface SpecModel {
  readonly root: string;
  readonly protos: ProtoSpec;
  readonly idl: IdlModel;
}

export const componentsDir = "spec/components";

/** Loads and checks spec/ under root; throws SpecError/AggregateSpecError with file:line:col. */
export function loadSpec(root: string): SpecModel {
  const protos = loadSpecProtos(root);
  const sources = listFiles(join(root, componentsDir), ".cap").map((path) => ({
    file: toPosix(relative(root, path)),
    text: readFileSync(path, "utf8"),
  }));
  const idl = loadIdl(sources, protos.registry);
  return { root, protos, idl };
}

function listFiles(dir: string, suffix: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listFiles(path, suffix));
    else if (entry.name.endsWith(suffix)) found.push(path);
  }
  return found.sort();
}

function toPosix(path: string): string {
  return path.split(sep).join("/");
}
