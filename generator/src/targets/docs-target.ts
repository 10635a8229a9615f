import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { ScalarType, type DescEnum, type DescField, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { getComments } from "@bufbuild/protoplugin";
import type { Adapter, Capability, MetadataField, TypeRef } from "../idl";
import { withHeader, type OutputFile } from "../output/output-file";
import type { SpecModel } from "../spec-model";
import type { Target } from "./target";
import { fieldConstraints, metadataConstraints, unionRule } from "./metadata-constraints";
import { wasmAbi, wasmAbiModule, wasmAbiVersion } from "./wasm-abi";

/**
 * API reference in Markdown (docs/api/): one page per service and per capability,
 * and an index. Handlebars renders the pages; this module only builds their
 * view models from the proto comments and the IDL docs.
 */
export const docsTarget: Target = {
  name: "docs",
  generate(spec) {
    const render = templates();
    const services = spec.protos.files.flatMap((file) => file.services);
    const files: OutputFile[] = [];
    for (const service of services) {
      files.push(withHeader(`docs/api/${serviceDoc(service)}`, service.file.proto.name, render.service(serviceView(service, spec))));
    }
    for (const capability of spec.idl.capabilities) {
      const adapters = spec.idl.adapters.filter((a) => a.capability === capability);
      files.push(withHeader(`docs/api/components/${capability.name}.md`, capability.loc.file, render.capability(capabilityView(capability, adapters))));
    }
    files.push(withHeader("docs/api/README.md", "spec/", render.index(indexView(spec, services))));
    return files;
  },
};

function templates() {
  const hbs = Handlebars.create();
  // A Markdown table cell: one line, pipes escaped.
  hbs.registerHelper("cell", (text: unknown) => new Handlebars.SafeString(String(text ?? "").replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ")));
  const load = (name: string) =>
    hbs.compile(readFileSync(join(__dirname, "..", "..", "templates", `${name}.md.hbs`), "utf8"), { noEscape: true, strict: true });
  return { service: load("service"), capability: load("capability"), index: load("index") };
}

function serviceDoc(service: DescService): string {
  return `${service.name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()}.md`;
}

function comment(desc: Parameters<typeof getComments>[0]): string {
  return (getComments(desc).leading ?? "").trim().replace(/^ /gm, "");
}

/** A proto type name as a reader of this package wants it: short inside the package. */
function shortName(typeName: string, pkg: string): string {
  return typeName.startsWith(`${pkg}.`) ? typeName.slice(pkg.length + 1) : typeName;
}

function fieldType(field: DescField, pkg: string): string {
  const scalar = (t: ScalarType) => ScalarType[t].toLowerCase();
  switch (field.fieldKind) {
    case "scalar":
      return `${field.proto.proto3Optional ? "optional " : ""}${scalar(field.scalar)}`;
    case "enum":
      return shortName(field.enum.typeName, pkg);
    case "message":
      return shortName(field.message.typeName, pkg);
    case "list":
      return `repeated ${field.listKind === "scalar" ? scalar(field.scalar) : shortName((field.listKind === "enum" ? field.enum : field.message).typeName, pkg)}`;
    case "map": {
      const value = field.mapKind === "scalar" ? scalar(field.scalar) : shortName((field.mapKind === "enum" ? field.enum : field.message).typeName, pkg);
      return `map<${scalar(field.mapKey)}, ${value}>`;
    }
  }
}

function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.filter((m) => !m.proto.options?.mapEntry).flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
}

function allEnums(file: { enums: readonly DescEnum[]; messages: readonly DescMessage[] }): DescEnum[] {
  return [...file.enums, ...allMessages(file.messages).flatMap((m) => m.nestedEnums)];
}

function serviceView(service: DescService, spec: SpecModel) {
  const pkg = service.file.proto.package;
  const owner = new Map<string, string>();
  for (const c of spec.idl.capabilities) for (const s of c.serves) if (s.service.typeName === service.typeName) owner.set(s.method.name, c.name);
  return {
    name: service.name,
    fullName: service.typeName,
    file: service.file.proto.name,
    doc: comment(service),
    rpcs: service.methods.map((m) => ({
      name: m.name,
      anchor: m.name.toLowerCase(),
      input: shortName(m.input.typeName, pkg),
      output: shortName(m.output.typeName, pkg),
      clientStreams: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      serverStreams: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      kind: m.methodKind.replace("_", " "),
      capability: owner.get(m.name) ?? "",
      doc: comment(m),
    })),
    messages: allMessages(service.file.messages).map((m) => ({
      name: shortName(m.typeName, pkg),
      doc: comment(m),
      fields: m.fields.map((f) => ({ name: f.name, number: f.number, type: fieldType(f, pkg), doc: comment(f) })),
    })),
    enums: allEnums(service.file).map((e) => ({
      name: shortName(e.typeName, pkg),
      doc: comment(e),
      values: e.values.map((v) => ({ name: v.name, number: v.number, doc: comment(v) })),
    })),
  };
}

function typeText(type: TypeRef | undefined): string {
  if (type === undefined) return "nothing";
  switch (type.kind) {
    case "scalar":
      return type.name;
    case "list":
      return `list<${typeText(type.element)}>`;
    case "map":
      return `map<${typeText(type.key)}, ${typeText(type.value)}>`;
    case "stream":
      return `stream<${typeText(type.element)}>`;
    case "message":
    case "enum":
    case "callback":
      return type.decl.name;
    case "protoMessage":
    case "protoEnum":
      return type.desc.typeName;
    case "subscription":
      return "subscription";
  }
}

function capabilityView(capability: Capability, adapters: readonly Adapter[]) {
  return {
    name: capability.name,
    interfaceName: capability.interfaceName,
    file: capability.loc.file,
    doc: capability.doc,
    serves: capability.serves.map((s) => ({
      service: s.service.name,
      rpc: s.method.name,
      serviceDoc: serviceDoc(s.service),
      anchor: s.method.name.toLowerCase(),
    })),
    operations: capability.operations.map((op) => ({
      name: op.name,
      signature: `${op.name}(${op.params.map((p) => `${p.name}: ${typeText(p.type)}`).join(", ")})`,
      returns: typeText(op.returns),
      feature: op.unlockedBy?.name ?? "",
      doc: op.doc,
    })),
    features: capability.features.map((f) => ({ name: f.name, unlocks: f.unlocks.map((op) => op.name), doc: f.doc })),
    errors: capability.errors.map((e) => ({ name: e.name, status: e.status, doc: e.doc })),
    metadata: capability.metadata.map(metadataRow),
    types: [
      ...capability.messages.map((m) => ({
        name: m.name,
        doc: m.union ? `${m.doc}\n\nA union: ${unionRule(m)}; a call that gives none or more is refused with \`INVALID_ARGUMENT\` before the adapter sees it.`.trim() : m.doc,
        isEnum: false,
        rows: m.fields.map((f) => {
          const constraints = fieldConstraints(f);
          const checked = constraints.length > 0 ? ` Checked before the adapter sees the call: ${constraints.join("; ")}.` : "";
          return { name: `${f.name}${f.optional ? "?" : ""}`, type: typeText(f.type), doc: `${f.doc}${checked}` };
        }),
      })),
      ...capability.enums.map((e) => ({ name: e.name, doc: e.doc, isEnum: true, rows: e.values.map((v) => ({ name: v.name, type: "", doc: v.doc })) })),
      ...capability.callbacks.map((c) => ({
        name: c.name,
        doc: `${c.doc}\n\n\`(${c.params.map((p) => `${p.name}: ${typeText(p.type)}`).join(", ")}) -> ${typeText(c.returns)}\``.trim(),
        isEnum: false,
        rows: [],
      })),
    ],
    adapters: adapters.map((a) => ({
      type: a.type,
      doc: a.doc,
      features: a.features.map((f) => f.name),
      metadata: a.metadata.map(metadataRow),
    })),
  };
}

function metadataRow(m: MetadataField) {
  return {
    name: m.name,
    aliases: m.aliases,
    type: m.type,
    sensitive: m.sensitive,
    hasDefault: m.default !== undefined,
    default: m.default === undefined ? "" : JSON.stringify(m.default),
    required: m.required,
    constraints: metadataConstraints(m).join("; "),
    doc: m.doc,
  };
}

function indexView(spec: SpecModel, services: readonly DescService[]) {
  const firstSentence = (text: string) => text.split(/(?<=\.)\s/)[0] ?? "";
  return {
    services: services.map((s) => ({ name: s.name, doc: serviceDoc(s), rpcCount: s.methods.length, summary: firstSentence(comment(s)) })),
    capabilities: spec.idl.capabilities.map((c) => ({
      name: c.name,
      interfaceName: c.interfaceName,
      adapters: spec.idl.adapters.filter((a) => a.capability === c).map((a) => a.type),
      summary: firstSentence(c.doc),
    })),
    // The wasm target writes wasm.md whenever the spec gives it host imports.
    wasm: (() => {
      const count = wasmAbi(spec).imports.length;
      return count > 0 ? { imports: count === 1 ? "1 host import" : `${count} host imports`, module: wasmAbiModule, version: wasmAbiVersion } : false;
    })(),
  };
}
