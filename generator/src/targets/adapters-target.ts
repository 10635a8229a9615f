import type { GeneratedFile, Printable, Schema } from "@bufbuild/protoplugin";
import type { Adapter, Capability, MetadataField, MetadataGroup, MetadataItem } from "../idl";
import type { Target } from "./target";
import { runTsTarget } from "./es-plugin";
import { printDoc } from "./components-target";
import { componentRuntime } from "./component-runtime";
import { metadataConstraints } from "./metadata-constraints";
import { requestChecksName } from "./request-checks";
import { adapterModule, camelCase, capabilityModule, metadataGroupsModule, pascalCase } from "./ts-names";

/**
 * Per adapter type (one file for all capabilities it implements): the typed metadata,
 * the field table validation runs from, the declared features, the component type
 * those features require, and define<Adapter>() that binds a hand-written create().
 * Metadata groups are printed once, in one module, as an interface and a field
 * table that includers extend and spread.
 */
export const adaptersTarget: Target = {
  name: "adapters",
  generate(spec) {
    const byType = new Map<string, Adapter[]>();
    for (const adapter of spec.idl.adapters) byType.set(adapter.type, [...(byType.get(adapter.type) ?? []), adapter]);
    const groupsFile = `${metadataGroupsModule().slice(2)}.ts`;
    return runTsTarget(
      spec,
      "adapters",
      (schema: Schema) => {
        const withMetadata = spec.idl.capabilities.filter((c) => c.metadataItems.length > 0);
        if (spec.idl.metadataGroups.length > 0 || withMetadata.length > 0) {
          const f = schema.generateFile(groupsFile);
          printMetadataGroups(f, spec.idl.metadataGroups);
          printCapabilityMetadata(f, withMetadata);
        }
        for (const [type, adapters] of byType) {
          printAdapters(schema.generateFile(`${adapterModule(type).slice(2)}.ts`), adapters);
        }
      },
      (fileName) =>
        fileName === groupsFile
          ? "spec/components"
          : [...byType.values()].find((a) => `${adapterModule(a[0].type).slice(2)}.ts` === fileName)![0].loc.file,
    );
  },
};

const metadataTsType = { string: "string", bool: "boolean", int: "number", number: "number", duration: "number" } as const;

/** The names a metadata group's interface and field table are exported as. */
function groupNames(group: MetadataGroup): { iface: string; fields: string } {
  return { iface: `${group.name}Metadata`, fields: `${camelCase(group.name)}MetadataFields` };
}

/** Each group once, a group after those it includes (the tables spread them, so order matters at run time), else by name. */
function printMetadataGroups(f: GeneratedFile, groups: readonly MetadataGroup[]): void {
  const MetadataFieldSpec = f.import("MetadataFieldSpec", componentRuntime, true);
  const printed = new Set<MetadataGroup>();
  const visit = (group: MetadataGroup): void => {
    if (printed.has(group)) return;
    printed.add(group);
    for (const item of group.items) if (item.kind === "include") visit(item.group);
    if (printed.size > 1) f.print();
    const { iface, fields } = groupNames(group);
    printDoc(f, group.doc || `The ${group.name} metadata group.`);
    printMetadataInterface(f, f.export("interface", iface), group.items, (g) => groupNames(g).iface);
    f.print();
    f.print(f.jsDoc(`The declared metadata fields of the ${group.name} group, includes spliced in order.`));
    printMetadataTable(f, f.export("const", fields), MetadataFieldSpec, group.items, (g) => groupNames(g).fields);
  };
  for (const group of groups) visit(group);
}

/**
 * Per capability that declares metadata, its interface and field table (what the
 * runtime reads and applies, e.g. the key prefix), and one record of them all by
 * capability, so the kernel validates it for any adapter, a vendor's too.
 */
function printCapabilityMetadata(f: GeneratedFile, capabilities: readonly Capability[]): void {
  if (capabilities.length === 0) return;
  const MetadataFieldSpec = f.import("MetadataFieldSpec", componentRuntime, true);
  for (const capability of capabilities) {
    const base = pascalCase(capability.name);
    f.print();
    f.print(f.jsDoc(`Metadata every ${capability.name} component accepts, declared once in its capability and applied by the runtime.`));
    printMetadataInterface(f, f.export("interface", `${base}CapabilityMetadata`), capability.metadataItems, (g) => groupNames(g).iface);
    f.print();
    f.print(f.jsDoc(`The declared metadata fields of the ${capability.name} capability, includes spliced in order.`));
    printMetadataTable(f, f.export("const", `${camelCase(capability.name)}CapabilityMetadataFields`), MetadataFieldSpec, capability.metadataItems, (g) => groupNames(g).fields);
  }
  f.print();
  f.print(f.jsDoc("Per capability that declares metadata of its own, its field table."));
  f.print(f.export("const", "capabilityMetadataFields"), ": Readonly<Record<string, readonly ", MetadataFieldSpec, "[]>> = {");
  for (const capability of capabilities) f.print("  ", capability.name, ": ", `${camelCase(capability.name)}CapabilityMetadataFields,`);
  f.print("};");
}

/** An interface: included groups become `extends`, own fields members. */
function printMetadataInterface(f: GeneratedFile, name: Printable, items: readonly MetadataItem[], include: (group: MetadataGroup) => Printable): void {
  const bases = items.flatMap((item) => (item.kind === "include" ? [include(item.group)] : []));
  f.print(name, ...bases.flatMap((base, i) => [i === 0 ? " extends " : ", ", base]), " {");
  for (const item of items) {
    if (item.kind !== "field") continue;
    const field = item.field;
    printDoc(f, fieldDoc(field), "  ");
    const optional = !field.required && field.default === undefined;
    // oneOf values are the type itself, so a switch over them is checked for exhaustiveness.
    const type = field.oneOf ? field.oneOf.map((v) => JSON.stringify(v)).join(" | ") : metadataTsType[field.type];
    f.print("  ", field.name, optional ? "?" : "", ": ", type, ";");
  }
  f.print("}");
}

/** A field table in declaration order: included groups' tables spread, own fields as specs. */
function printMetadataTable(f: GeneratedFile, name: Printable, MetadataFieldSpec: Printable, items: readonly MetadataItem[], include: (group: MetadataGroup) => Printable): void {
  f.print(name, ": readonly ", MetadataFieldSpec, "[] = [");
  for (const item of items) {
    if (item.kind === "include") {
      f.print("  ...", include(item.group), ",");
      continue;
    }
    const field = item.field;
    const spec = [`name: "${field.name}"`, `type: "${field.type}"`];
    if (field.default !== undefined) spec.push(`default: ${JSON.stringify(field.default)}`);
    spec.push(`required: ${field.required}`, `sensitive: ${field.sensitive}`);
    spec.push(`aliases: [${field.aliases.map((a) => JSON.stringify(a)).join(", ")}]`);
    if (field.min !== undefined) spec.push(`min: ${field.min}`);
    if (field.max !== undefined) spec.push(`max: ${field.max}`);
    if (field.minField !== undefined) spec.push(`minField: ${JSON.stringify(field.minField)}`);
    if (field.maxField !== undefined) spec.push(`maxField: ${JSON.stringify(field.maxField)}`);
    if (field.oneOf !== undefined) spec.push(`oneOf: [${field.oneOf.map((v) => JSON.stringify(v)).join(", ")}]`);
    if (field.excludes.length > 0) spec.push(`excludes: [${field.excludes.map((v) => JSON.stringify(v)).join(", ")}]`);
    if (field.pattern !== undefined) spec.push(`pattern: ${JSON.stringify(field.pattern)}`);
    if (field.requiredWhen !== undefined) spec.push(`requiredWhen: { field: ${JSON.stringify(field.requiredWhen.field)}, value: ${JSON.stringify(field.requiredWhen.value)} }`);
    if (field.deprecated.length > 0) spec.push(`deprecated: [${field.deprecated.map((v) => JSON.stringify(v)).join(", ")}]`);
    spec.push(`description: ${JSON.stringify(field.doc)}`);
    f.print("  { ", spec.join(", "), " },");
  }
  f.print("];");
}

function printAdapters(f: GeneratedFile, adapters: readonly Adapter[]): void {
  const MetadataFieldSpec = f.import("MetadataFieldSpec", componentRuntime, true);
  const RawMetadata = f.import("RawMetadata", componentRuntime, true);
  const parseMetadata = f.import("parseMetadata", componentRuntime);
  const AdapterContext = f.import("AdapterContext", componentRuntime, true);
  const AdapterFactory = f.import("AdapterFactory", componentRuntime, true);
  const defineAdapter = f.import("defineAdapter", componentRuntime);

  adapters.forEach((adapter, i) => {
    if (i > 0) f.print();
    const base = `${pascalCase(adapter.type)}${pascalCase(adapter.capability.name)}`;
    const lower = base[0].toLowerCase() + base.slice(1);
    const iface = adapter.capability.interfaceName;
    const With = f.import(`${iface}With`, capabilityModule(adapter.capability.name), true);
    const requestChecks = f.import(requestChecksName(adapter.capability), capabilityModule(adapter.capability.name));
    const features = adapter.features.map((x) => `"${x.name}"`);
    const capability = adapter.capability.name;

    f.print(f.jsDoc(`Metadata of the "${adapter.type}" ${capability} component, as validated at start.`));
    const groups = metadataGroupsModule();
    printMetadataInterface(f, f.export("interface", `${base}Metadata`), adapter.metadataItems, (g) => f.import(groupNames(g).iface, groups, true));
    f.print();
    f.print(f.jsDoc(`The declared metadata fields of the "${adapter.type}" ${capability} component.`));
    printMetadataTable(f, f.export("const", `${lower}MetadataFields`), MetadataFieldSpec, adapter.metadataItems, (g) => f.import(groupNames(g).fields, groups));
    f.print();
    f.print(f.jsDoc(`Validates raw metadata of a "${adapter.type}" ${capability} component; throws MetadataError.`));
    f.print(f.export("function", `parse${base}Metadata`), "(raw: ", RawMetadata, "): ", `${base}Metadata {`);
    f.print("  return ", parseMetadata, "<", `${base}Metadata>(raw, ${lower}MetadataFields);`);
    f.print("}");
    f.print();
    f.print(f.jsDoc(`The features the "${adapter.type}" ${capability} component declares.`));
    f.print(f.export("const", `${lower}Features`), " = [", features.join(", "), "] as const;");
    f.print();
    f.print(f.jsDoc(`What a "${adapter.type}" ${capability} component implements: the core operations and those its features unlock.`));
    f.print(f.export("type", base), " = ", With, "<", features.length ? features.join(" | ") : "never", ">;");
    f.print();
    printDoc(f, adapter.doc);
    f.print(f.export("function", `define${base}Adapter`), "(");
    f.print("  create: (metadata: ", `${base}Metadata`, ", context: ", AdapterContext, ") => Promise<", base, ">,");
    f.print("): ", AdapterFactory, `<"${capability}", ${base}> {`);
    f.print("  return ", defineAdapter, "({");
    f.print(`    capability: "${capability}",`);
    f.print(`    type: ${JSON.stringify(adapter.type)},`);
    f.print(`    features: ${lower}Features,`);
    f.print(`    metadata: ${lower}MetadataFields,`);
    f.print("    requestChecks: ", requestChecks, ",");
    f.print("    create,");
    f.print("  });");
    f.print("}");
  });
}

function fieldDoc(field: MetadataField): string {
  const notes: string[] = [];
  if (field.type === "duration") notes.push("Written as a duration (\"5s\", \"250ms\"); read into milliseconds.");
  if (field.default !== undefined) notes.push(`Default: ${JSON.stringify(field.default)}.`);
  if (field.required) notes.push("Required.");
  if (field.aliases.length) notes.push(`Also accepted as ${field.aliases.map((a) => `\`${a}\``).join(", ")}.`);
  const constraints = metadataConstraints(field);
  if (constraints.length) notes.push(`${constraints.join("; ")}.`.replace(/^./, (c) => c.toUpperCase()));
  if (field.sensitive) notes.push("Sensitive: never logged or shown.");
  return [field.doc, notes.join(" ")].filter((s) => s.length > 0).join("\n");
}

