/**
 * Checks parsed files together (names are global across files) and builds the
 * model. Every error is collected; the model is complete only when there are none.
 */
import type { FileRegistry } from "@bufbuild/protobuf";
import { compareSpecErrors, type SpecError } from "../spec-error";
import type { AdapterAst, IdlFileAst, MetadataItemAst } from "./ast";
import { checkCapability, type ServedRpcRegistry } from "./capability-checker";
import { compareLocs, Diagnostics, formatLoc } from "./diagnostics";
import { MetadataChecker } from "./metadata-checker";
import { checkErrorStatus, checkErrorSuffix } from "./error-checks";
import type { Adapter, Capability, ErrorDecl, Feature, IdlModel, MetadataField, MetadataItem } from "./model";
import { NameTable } from "./name-table";
import { checkAdapterType, checkNaming } from "./naming";

export function checkIdl(files: IdlFileAst[], protos: FileRegistry): { model: IdlModel; errors: SpecError[] } {
  const diag = new Diagnostics();
  const capabilities = new NameTable<Capability>(diag, (n) => `capability '${n}'`);
  const interfaces = new NameTable<string>(diag, (n) => `interface name '${n}'`);
  const served: ServedRpcRegistry = new Map();
  const capabilityList: Capability[] = [];
  // Visit declarations in location order, whatever order the files came in, so "first declared at" is stable.
  const capabilityAsts = files.flatMap((f) => f.capabilities).sort((a, b) => compareLocs(a.name.loc, b.name.loc));
  for (const ast of capabilityAsts) {
    // A repeated capability is still checked inside, but only the first enters the model
    // (and claims its rpcs, so the repeat's serves do not echo as "already served").
    const repeated = capabilities.has(ast.name.text);
    const cap = checkCapability(ast, protos, diag, repeated ? new Map() : served);
    if (!capabilities.add(ast.name, cap)) continue;
    interfaces.add(ast.interfaceName, cap.name);
    capabilityList.push(cap);
  }

  const metadata = new MetadataChecker(diag, files.flatMap((f) => f.metadataGroups));
  // Capability-level metadata: checked once at the capability, then spliced into each adapter.
  const capabilityMetadata = new Map<string, MetadataItemAst[]>();
  for (const ast of capabilityAsts) {
    const cap = capabilities.get(ast.name.text);
    if (cap === undefined || cap.loc !== ast.name.loc) continue;
    for (const extra of ast.metadataBlocks.slice(1)) diag.error(extra.loc, `capability '${cap.name}' has more than one 'metadata' block; declare all its metadata in one`);
    const items = ast.metadataBlocks.flatMap((block) => block.items);
    const checked = metadata.adapterMetadata(items, `capability '${cap.name}'`);
    cap.metadata = checked.fields;
    cap.metadataItems = checked.items;
    capabilityMetadata.set(cap.name, items);
  }

  const adapters: Adapter[] = [];
  const adapterAsts = files.flatMap((f) => f.adapters).sort((a, b) => compareLocs(a.type.loc, b.type.loc));
  const seenAdapters = new Map<string, AdapterAst>();
  for (const ast of adapterAsts) {
    const adapter = checkAdapter(ast, capabilities, metadata, diag, capabilityMetadata);
    if (!adapter) continue;
    const key = `${adapter.capability.name}\u0000${adapter.type}`;
    const first = seenAdapters.get(key);
    if (first) {
      diag.error(ast.type.loc, `duplicate adapter ${JSON.stringify(adapter.type)} for capability '${adapter.capability.name}' (first declared at ${formatLoc(first.type.loc)})`);
      continue;
    }
    seenAdapters.set(key, ast);
    adapters.push(adapter);
  }

  // Shared errors: one namespace across files (they become one generated module).
  const sharedErrors = new NameTable<true>(diag, (n) => `shared error '${n}'`);
  const errors: ErrorDecl[] = [];
  for (const ast of files.flatMap((f) => f.errors).sort((a, b) => compareLocs(a.name.loc, b.name.loc))) {
    checkNaming(diag, ast.name, "error name", "UpperCamel");
    if (!checkErrorSuffix(diag, ast.name)) continue;
    const decl = checkErrorStatus(diag, ast);
    if (decl && sharedErrors.add(ast.name, true)) errors.push(decl);
  }

  const model: IdlModel = {
    capabilities: capabilityList.sort((a, b) => compareStrings(a.name, b.name)),
    adapters: adapters.sort((a, b) => compareStrings(a.type, b.type) || compareStrings(a.capability.name, b.capability.name)),
    metadataGroups: metadata.groupModels().sort((a, b) => compareStrings(a.name, b.name)),
    errors: errors.sort((a, b) => compareStrings(a.name, b.name)),
  };
  return { model, errors: diag.errors.sort(compareSpecErrors) };
}

function checkAdapter(
  ast: AdapterAst,
  capabilities: NameTable<Capability>,
  metadata: MetadataChecker,
  diag: Diagnostics,
  capabilityMetadata: ReadonlyMap<string, MetadataItemAst[]>,
): Adapter | undefined {
  const label = `adapter ${JSON.stringify(ast.type.text)}`;
  checkAdapterType(diag, ast.type);
  for (const extra of ast.featureLists.slice(1)) diag.error(extra.loc, `${label} has more than one 'features' list; list all its features in one`);
  for (const extra of ast.metadataBlocks.slice(1)) diag.error(extra.loc, `${label} has more than one 'metadata' block; declare all its metadata in one`);

  const capability = capabilities.get(ast.capability.text);
  // Metadata is checked even when the capability is unknown, so its errors surface in the same run.
  // The capability's metadata comes after the adapter's own (a clash is a duplicate key of the adapter).
  const inherited = capabilityMetadata.get(ast.capability.text) ?? [];
  const own = ast.metadataBlocks.length > 0 ? ast.metadataBlocks : inherited.length > 0 ? [{ loc: ast.type.loc, items: [] }] : [];
  const blocks = own.map((block, i) => metadata.adapterMetadata(i === 0 ? [...block.items, ...inherited] : block.items, label));
  const fields: MetadataField[] = blocks.flatMap((b) => b.fields);
  const metadataItems: MetadataItem[] = blocks.flatMap((b) => b.items);
  if (!capability) {
    diag.error(ast.capability.loc, `${label} implements unknown capability '${ast.capability.text}'`);
    return undefined;
  }

  const features: Feature[] = [];
  for (const name of ast.featureLists.flatMap((list) => list.names)) {
    const feature = capability.features.find((f) => f.name === name.text);
    if (!feature) {
      const declared = capability.features.length ? `declares ${capability.features.map((f) => f.name).join(", ")}` : "declares no features";
      diag.error(name.loc, `${label} lists unknown feature '${name.text}' (capability '${capability.name}' ${declared})`);
    } else if (features.includes(feature)) {
      diag.error(name.loc, `${label} lists feature '${name.text}' twice`);
    } else {
      features.push(feature);
    }
  }
  return { type: ast.type.text, capability, features, metadata: fields, metadataItems, doc: ast.doc, loc: ast.type.loc };
}

// Code-unit order, not locale order, so output is the same on every machine.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
