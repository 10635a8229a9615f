import type { GeneratedFile, Schema } from "@bufbuild/protoplugin";
import type { Adapter, MetadataField } from "../idl";
import type { Target } from "./target";
import { runTsTarget } from "./es-plugin";
import { printDoc } from "./components-target";
import { supportModule } from "./support-files";
import { adapterModule, capabilityModule, pascalCase } from "./ts-names";

/**
 * Per adapter type (one file for all capabilities it implements): the typed metadata,
 * the field table validation runs from, the declared features, the component type
 * those features require, and define<Adapter>() that binds a hand-written create().
 */
export const adaptersTarget: Target = {
  name: "adapters",
  generate(spec) {
    const byType = new Map<string, Adapter[]>();
    for (const adapter of spec.idl.adapters) byType.set(adapter.type, [...(byType.get(adapter.type) ?? []), adapter]);
    return runTsTarget(
      spec,
      "adapters",
      (schema: Schema) => {
        for (const [type, adapters] of byType) {
          printAdapters(schema.generateFile(`${adapterModule(type).slice(2)}.ts`), adapters);
        }
      },
      (fileName) => [...byType.values()].find((a) => `${adapterModule(a[0].type).slice(2)}.ts` === fileName)![0].loc.file,
    );
  },
};

const metadataTsType = { string: "string", bool: "boolean", int: "number", number: "number", duration: "number" } as const;

function printAdapters(f: GeneratedFile, adapters: readonly Adapter[]): void {
  const MetadataFieldSpec = f.import("MetadataFieldSpec", supportModule("metadata"), true);
  const RawMetadata = f.import("RawMetadata", supportModule("metadata"), true);
  const parseMetadata = f.import("parseMetadata", supportModule("metadata"));
  const AdapterContext = f.import("AdapterContext", supportModule("adapter"), true);
  const AdapterFactory = f.import("AdapterFactory", supportModule("adapter"), true);
  const defineAdapter = f.import("defineAdapter", supportModule("adapter"));

  adapters.forEach((adapter, i) => {
    if (i > 0) f.print();
    const base = `${pascalCase(adapter.type)}${pascalCase(adapter.capability.name)}`;
    const lower = base[0].toLowerCase() + base.slice(1);
    const iface = adapter.capability.interfaceName;
    const With = f.import(`${iface}With`, capabilityModule(adapter.capability.name), true);
    const features = adapter.features.map((x) => `"${x.name}"`);
    const capability = adapter.capability.name;

    f.print(f.jsDoc(`Metadata of the "${adapter.type}" ${capability} component, as validated at start.`));
    f.print(f.export("interface", `${base}Metadata`), " {");
    for (const field of adapter.metadata) {
      printDoc(f, fieldDoc(field), "  ");
      const optional = !field.required && field.default === undefined;
      f.print("  ", field.name, optional ? "?" : "", ": ", metadataTsType[field.type], ";");
    }
    f.print("}");
    f.print();
    f.print(f.jsDoc(`The declared metadata fields of the "${adapter.type}" ${capability} component.`));
    f.print(f.export("const", `${lower}MetadataFields`), ": readonly ", MetadataFieldSpec, "[] = [");
    for (const field of adapter.metadata) {
      const spec = [`name: "${field.name}"`, `type: "${field.type}"`];
      if (field.default !== undefined) spec.push(`default: ${JSON.stringify(field.default)}`);
      spec.push(`required: ${field.required}`, `sensitive: ${field.sensitive}`);
      spec.push(`aliases: [${field.aliases.map((a) => JSON.stringify(a)).join(", ")}]`);
      spec.push(`description: ${JSON.stringify(field.doc)}`);
      f.print("  { ", spec.join(", "), " },");
    }
    f.print("];");
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
  if (field.sensitive) notes.push("Sensitive: never logged or shown.");
  return [field.doc, notes.join(" ")].filter((s) => s.length > 0).join("\n");
}
