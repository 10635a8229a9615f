import { ScalarType, type DescField } from "@bufbuild/protobuf";
import { protocGenEs } from "@bufbuild/protoc-gen-es/dist/cjs/src/protoc-gen-es-plugin";
import type { GeneratedFile, ImportSymbol, Printable, Schema } from "@bufbuild/protoplugin";
import type { OutputFile } from "../../output/output-file";
import type { Target } from "../target";
import { runProtocPlugin, runTsTarget, type TsOutput } from "../es-plugin";
import { confirmSubscriptionHeader } from "./sdk-surface";
import { buildSdkModel, comment, errorInfoDomain, type FieldPath, type SdkGroup, type SdkMethod, type SdkModel } from "./sdk-model";

/**
 * The TypeScript SDK (@ottavo/sdk, sdks/typescript): protobuf-es messages for
 * spec/proto, and on top one client class per capability whose methods take
 * the natural arguments, return what the caller wants, accept an AbortSignal
 * and throw typed errors. The hand-written code those classes call (errors,
 * streams, leases, the endpoint) lives in sdks/typescript/src/support.
 */
export const typescriptSdkTarget: Target = {
  name: "sdk-typescript",
  generate(spec) {
    const model = buildSdkModel(spec);
    if (model.services.length === 0) return [];
    const out: TsOutput = { root: "sdks/typescript/src/gen", parameter: "target=ts,import_extension=js" };
    const sources = new Map<string, string>();
    const files: OutputFile[] = [
      ...runProtocPlugin(spec, protocGenEs, out),
      ...runTsTarget(
        spec,
        "sdk-typescript",
        (schema: Schema) => {
          for (const group of model.groups) {
            const name = `clients/${kebab(group.name)}-client.ts`;
            sources.set(name, group.source);
            printGroup(schema.generateFile(name), group);
          }
          sources.set("ottavo-client.ts", model.services[0].file.proto.name);
          printClient(schema.generateFile("ottavo-client.ts"), model);
          sources.set("errors.ts", "spec/components");
          printErrors(schema.generateFile("errors.ts"), model);
          sources.set("index.ts", "spec/");
          const index = schema.generateFile("index.ts");
          index.print("export * from \"./ottavo-client.js\";");
          index.print("export * from \"./errors.js\";");
          for (const group of model.groups) index.print(`export * from "./clients/${kebab(group.name)}-client.js";`);
          for (const file of spec.protos.files) index.print(`export * from "./${file.name}_pb.js";`);
        },
        (fileName) => sources.get(fileName)!,
        out,
      ),
    ];
    return files;
  },
};

const support = {
  call: "../support/call.js",
  bytes: "../support/bytes.js",
  errors: "../support/errors.js",
  lease: "../support/lease.js",
  streams: "../support/streams.js",
  topic: "../support/topic-subscription.js",
};

function printGroup(f: GeneratedFile, group: SdkGroup): void {
  const className = `${pascal(group.name)}Client`;
  for (const method of group.methods) printOptions(f, `${pascal(group.name)}${pascal(method.name)}Options`, method);
  printDoc(f, group.doc);
  f.print(f.export("class", className), " {");
  f.print("  /** Made by OttavoClient; one per client. */");
  f.print("  constructor(private readonly rpc: ", rpcClientType(f, group.methods[0]), ") {}");
  for (const method of group.methods) {
    f.print();
    printMethod(f, method, `${pascal(group.name)}${pascal(method.name)}Options`, JSON.stringify(group.name));
  }
  f.print("}");
}

function printClient(f: GeneratedFile, model: SdkModel): void {
  const Transport = f.import("Transport", "@connectrpc/connect", true);
  const createClient = f.import("createClient", "@connectrpc/connect");
  for (const method of model.rootMethods) printOptions(f, `${pascal(method.name)}Options`, method);
  const service = model.services[0];
  printDoc(f, `${comment(service)}\n\nOne property per capability; create it with createOttavoClient(), or over any Connect transport.`);
  f.print(f.export("class", "OttavoClient"), " {");
  for (const group of model.groups) {
    printDoc(f, group.doc, "  ");
    f.print("  readonly ", camel(group.name), ": ", f.import(`${pascal(group.name)}Client`, `./clients/${kebab(group.name)}-client.js`), ";");
  }
  f.print("  private readonly rpc: ", rpcClientType(f, model.rootMethods[0] ?? model.groups[0].methods[0]), ";");
  f.print();
  f.print("  constructor(transport: ", Transport, ") {");
  f.print("    this.rpc = ", createClient, "(", f.importSchema(service), ", transport);");
  for (const group of model.groups) {
    f.print("    this.", camel(group.name), " = new ", f.import(`${pascal(group.name)}Client`, `./clients/${kebab(group.name)}-client.js`), "(this.rpc);");
  }
  f.print("  }");
  for (const method of model.rootMethods) {
    f.print();
    printMethod(f, method, `${pascal(method.name)}Options`, "undefined");
  }
  f.print("}");
}

function rpcClientType(f: GeneratedFile, method: SdkMethod): Printable[] {
  return [f.import("Client", "@connectrpc/connect", true), "<typeof ", f.importSchema(method.rpc.parent, true), ">"];
}

/** The options interface of one method: every request field no argument fills, plus the call's own options. */
function printOptions(f: GeneratedFile, name: string, method: SdkMethod): void {
  const CallSettings = f.import("CallSettings", support.call, true);
  printDoc(f, `Options of ${method.name}; every field is optional.`);
  f.print(f.export("interface", name), " extends ", CallSettings, " {");
  for (const option of method.options) {
    printDoc(f, option.doc, "  ");
    f.print("  ", option.name, "?: ", inputType(f, option.path.leaf), ";");
  }
  f.print("}");
  f.print();
}

function printMethod(f: GeneratedFile, method: SdkMethod, optionsType: string, capability: string): void {
  const params = method.args.map((arg) => {
    const type = arg.kind === "items"
      ? arg.itemValue ? ["Record<string, ", f.import("Bytes", support.bytes, true), ">"] : ["string[]"]
      : method.shape === "upload" && arg.path.leaf.name === "data"
        ? [f.import("ByteSource", support.streams, true)]
        : [inputType(f, arg.path.leaf)];
    return [arg.name, ": ", ...type];
  });
  const doc = [method.doc, ...method.args.map((a) => `@param ${a.name} ${oneLine(a.doc)}`), "@param options Request fields and call settings (signal, timeoutMs, headers)."];
  printDoc(f, doc.join("\n"), "  ");
  const signature: Printable[] = [];
  for (const p of params) signature.push(...p, ", ");
  signature.push("options: ", optionsType, " = {}");
  const call = f.import("callOptions", support.call);
  const guard = f.import("guard", support.call);
  const rpc = `this.rpc.${method.rpc.localName}`;
  switch (method.shape) {
    case "unary": {
      if (isEmpty(method.rpc.output)) {
        f.print("  async ", method.name, "(", ...signature, "): Promise<void> {");
        f.print("    await ", guard, "(", capability, ", () => ", rpc, "(", ...requestInit(f, method), ", ", call, "(options)));");
        f.print("  }");
        return;
      }
      const ret = method.returns ? outputType(f, method.returns.leaf) : [f.importShape(method.rpc.output)];
      f.print("  async ", method.name, "(", ...signature, "): Promise<", ...ret, "> {");
      f.print("    const response = await ", guard, "(", capability, ", () => ", rpc, "(", ...requestInit(f, method), ", ", call, "(options)));");
      f.print("    return response", ...returnAccess(method.returns), ";");
      f.print("  }");
      return;
    }
    case "lease": {
      const Lease = f.import("Lease", support.lease);
      const unlockArgs = method.args.filter((a) => a.kind === "field" && method.unlock!.input.fields.some((u) => u.name === a.path.leaf.name));
      f.print("  async ", method.name, "(", ...signature, "): Promise<", Lease, "> {");
      f.print("    const response = await ", guard, "(", capability, ", () => ", rpc, "(", ...requestInit(f, method), ", ", call, "(options)));");
      f.print("    return new ", Lease, "(response.success, async () => (await ", guard, "(", capability, ", () => this.rpc.", method.unlock!.localName,
        "({ ", unlockArgs.map((a) => `${a.path.leaf.localName}: ${a.name}`).join(", "), " }))).status);");
      f.print("  }");
      return;
    }
    case "download": {
      const chunks = f.import("downloadChunks", support.streams);
      f.print("  ", method.name, "(", ...signature, "): AsyncIterable<Uint8Array> {");
      f.print("    return ", chunks, "(", capability, ", () => ", rpc, "(", ...requestInit(f, method), ", ", call, "(options)));");
      f.print("  }");
      return;
    }
    case "upload": {
      const uploadMessages = f.import("uploadMessages", support.streams);
      const first = method.args.filter((a) => a.path.leaf.name !== "data");
      f.print("  async ", method.name, "(", ...signature, "): Promise<void> {");
      f.print("    await ", guard, "(", capability, ", () => ", rpc, "(", uploadMessages, "(data, (chunk, first) => first");
      f.print("      ? ", ...requestInit(f, { ...method, args: first }, ["data: chunk"]));
      f.print("      : { data: chunk }), ", call, "(options)));");
      f.print("  }");
      return;
    }
    case "watch": {
      const watch = f.import("watch", support.streams);
      const Subscription = f.import("Subscription", support.streams, true);
      f.print("  ", method.name, "(", ...signature, "): ", Subscription, "<", f.importShape(method.rpc.output), "> {");
      const confirm = method.confirmedBy
        ? [", { header: ", JSON.stringify(confirmSubscriptionHeader), ", confirms: (response) => response.", method.confirmedBy.leaf.localName, ".length === 0 }"]
        : [];
      f.print("    return ", watch, "(", capability, ", (requests, settings) => ", rpc, "(requests, settings), ", ...requestInit(f, method), ", options", ...confirm, ");");
      f.print("  }");
      return;
    }
    case "topic": {
      const subscribeTopic = f.import("subscribeTopic", support.topic);
      const TopicSubscription = f.import("TopicSubscription", support.topic, true);
      const inner = { ...method, args: method.args.map((a) => ({ ...a, path: { ...a.path, fields: a.path.fields.slice(1) } })), options: method.options.map((o) => ({ ...o, path: { ...o.path, fields: o.path.fields.slice(1) } })) };
      f.print("  ", method.name, "(", ...signature, "): ", TopicSubscription, " {");
      f.print("    return ", subscribeTopic, "(", capability, ", (requests, settings) => ", rpc, "(requests, settings), ", ...requestInit(f, inner), ", options);");
      f.print("  }");
      return;
    }
    case "stream": {
      const kind = method.rpc.methodKind;
      if (kind === "server_streaming") {
        const guardStream = f.import("guardStream", support.call);
        f.print("  ", method.name, "(", ...signature, "): AsyncIterable<", f.importShape(method.rpc.output), "> {");
        f.print("    return ", guardStream, "(", capability, ", () => ", rpc, "(", ...requestInit(f, method), ", ", call, "(options)));");
        f.print("  }");
        return;
      }
      const MessageInitShape = f.import("MessageInitShape", "@bufbuild/protobuf", true);
      const input: Printable[] = ["AsyncIterable<", MessageInitShape, "<typeof ", f.importSchema(method.rpc.input, true), ">>"];
      if (kind === "client_streaming") {
        f.print("  async ", method.name, "(requests: ", ...input, ", options: ", optionsType, " = {}): Promise<", f.importShape(method.rpc.output), "> {");
        f.print("    return ", guard, "(", capability, ", () => ", rpc, "(requests, ", call, "(options)));");
      } else {
        const guardStream = f.import("guardStream", support.call);
        f.print("  ", method.name, "(requests: ", ...input, ", options: ", optionsType, " = {}): AsyncIterable<", f.importShape(method.rpc.output), "> {");
        f.print("    return ", guardStream, "(", capability, ", () => ", rpc, "(requests, ", call, "(options)));");
      }
      f.print("  }");
      return;
    }
  }
}

/**
 * The request as an object literal: arguments and options placed at their
 * field paths. A nested message every leaf of which is unset stays absent
 * (an Etag with no value is no etag).
 */
function requestInit(f: GeneratedFile, method: Pick<SdkMethod, "args" | "options">, extra: string[] = []): Printable[] {
  interface Node { children: Map<DescField, Node>; value?: Printable[] }
  const tree: Node = { children: new Map() };
  const put = (fields: readonly DescField[], value: Printable[]) => {
    let node = tree;
    for (const field of fields) {
      let child = node.children.get(field);
      if (!child) node.children.set(field, (child = { children: new Map() }));
      node = child;
    }
    node.value = value;
  };
  const toBytes = () => f.import("toBytes", support.bytes);
  for (const arg of method.args) {
    if (arg.kind === "items") {
      const itemFields: Printable[] = [];
      itemFields.push(arg.itemKey!.localName, ": key");
      if (arg.itemValue) itemFields.push(", ", arg.itemValue.localName, ": ", toBytes(), "(value)");
      const perItem = itemInit(f, method.options.map((o) => o.path), "options");
      const source = arg.itemValue ? ["Object.entries(", arg.name, ").map(([key, value]) => "] : [arg.name, ".map((key) => "];
      put(arg.path.fields, [...source, "({ ", ...itemFields, ...perItem, " }))"]);
    } else {
      put(arg.path.fields, convert(arg.path.leaf, arg.name, toBytes));
    }
  }
  if (!method.args.some((a) => a.kind === "items")) {
    for (const option of method.options) put(option.path.fields, convert(option.path.leaf, `options.${option.name}`, toBytes));
  }
  const print = (node: Node, top: boolean): Printable[] => {
    if (node.value) return node.value;
    const parts: Printable[] = ["{ "];
    let first = true;
    for (const [field, child] of node.children) {
      if (!first) parts.push(", ");
      first = false;
      parts.push(field.localName, ": ", ...print(child, false));
    }
    if (top) for (const e of extra) parts.push(first ? "" : ", ", e), (first = false);
    parts.push(" }");
    return top ? parts : [f.import("present", support.call), "(", ...parts, ")"];
  };
  return print(tree, true);
}

/** Per-item fields built from options: `, etag: present({ value: options.etag }), ...`. */
function itemInit(f: GeneratedFile, paths: readonly FieldPath[], from: string): Printable[] {
  const grouped = new Map<DescField, FieldPath[]>();
  for (const path of paths) grouped.set(path.fields[0], [...(grouped.get(path.fields[0]) ?? []), path]);
  const parts: Printable[] = [];
  for (const [head, members] of grouped) {
    if (members.length === 1 && members[0].fields.length === 1) {
      parts.push(", ", head.localName, ": ", from, ".", optionNameOf(members[0]));
    } else {
      const inner = members.map((m) => `${m.fields[m.fields.length - 1].localName}: ${from}.${optionNameOf(m)}`).join(", ");
      parts.push(", ", head.localName, ": ", f.import("present", support.call), "({ ", inner, " })");
    }
  }
  return parts;
}

function optionNameOf(path: FieldPath): string {
  return path.leaf.name === "value" && path.fields.length > 1 ? path.fields[path.fields.length - 2].localName : path.leaf.localName;
}

function convert(field: DescField, expr: string, toBytes: () => ImportSymbol): Printable[] {
  return field.fieldKind === "scalar" && field.scalar === ScalarType.BYTES ? [toBytes(), "(", expr, ")"] : [expr];
}

export function isEmpty(message: { typeName: string }): boolean {
  return message.typeName === "google.protobuf.Empty";
}

function returnAccess(path: FieldPath | undefined): string {
  return path ? path.fields.map((field) => `.${field.localName}`).join("") : "";
}

function inputType(f: GeneratedFile, field: DescField): Printable[] {
  switch (field.fieldKind) {
    case "scalar":
      return field.scalar === ScalarType.BYTES ? [f.import("Bytes", support.bytes, true)] : [scalarType(field.scalar, field.longAsString)];
    case "enum":
      return [f.importShape(field.enum)];
    case "message":
      return [f.import("MessageInitShape", "@bufbuild/protobuf", true), "<typeof ", f.importSchema(field.message, true), ">"];
    case "list":
      if (field.listKind === "scalar") return [scalarType(field.scalar, field.longAsString), "[]"];
      if (field.listKind === "enum") return [f.importShape(field.enum), "[]"];
      return [f.import("MessageInitShape", "@bufbuild/protobuf", true), "<typeof ", f.importSchema(field.message, true), ">[]"];
    case "map":
      return ["Readonly<Record<", scalarType(field.mapKey, false), ", ", ...mapValue(f, field), ">>"];
  }
}

function outputType(f: GeneratedFile, field: DescField): Printable[] {
  switch (field.fieldKind) {
    case "scalar":
      return [scalarType(field.scalar, field.longAsString)];
    case "enum":
      return [f.importShape(field.enum)];
    case "message":
      return [f.importShape(field.message), " | undefined"];
    case "list":
      if (field.listKind === "scalar") return [scalarType(field.scalar, field.longAsString), "[]"];
      return [f.importShape(field.listKind === "enum" ? field.enum : field.message), "[]"];
    case "map":
      return ["Record<", scalarType(field.mapKey, false), ", ", ...mapValue(f, field), ">"];
  }
}

function mapValue(f: GeneratedFile, field: DescField & { fieldKind: "map" }): Printable[] {
  if (field.mapKind === "scalar") return [scalarType(field.scalar, false)];
  return [f.importShape(field.mapKind === "enum" ? field.enum : field.message)];
}

function scalarType(scalar: ScalarType, longAsString: boolean): string {
  switch (scalar) {
    case ScalarType.STRING:
      return "string";
    case ScalarType.BOOL:
      return "boolean";
    case ScalarType.BYTES:
      return "Uint8Array";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return longAsString ? "string" : "bigint";
    default:
      return "number";
  }
}

function printErrors(f: GeneratedFile, model: SdkModel): void {
  const Code = f.import("Code", "@connectrpc/connect");
  f.print("// The typed errors of spec/components. The runtime names each in a google.rpc.ErrorInfo");
  f.print("// detail (reason: the IDL name; metadata capability); without one, a status that only");
  f.print("// one error of the called capability answers with still names it.");
  f.print();
  for (const error of model.errors) {
    const base = f.import(pascal(error.status.toLowerCase()), support.errors);
    printDoc(f, `${error.doc}\n\nRaised by the ${error.capability} calls (${error.status}, ErrorInfo reason ${error.reason}); also an instance of ${pascal(error.status.toLowerCase())}.`);
    f.print(f.export("class", error.name), " extends ", base, " {");
    f.print("  override readonly name: string = ", JSON.stringify(error.name), ";");
    f.print("}");
    f.print();
  }
  printDoc(f, "The ErrorInfo domain of the runtime's declared errors.");
  f.print(f.export("const", "errorInfoDomain"), " = ", JSON.stringify(errorInfoDomain), ";");
  f.print();
  const TypedErrors = f.import("TypedErrors", support.errors, true);
  printDoc(f, `For each capability, its typed errors by ErrorInfo reason (domain ${errorInfoDomain}), and by the status that alone names one.`);
  f.print(f.export("const", "typedErrors"), ": Readonly<Record<string, ", TypedErrors, ">> = {");
  const byCapability = new Map<string, typeof model.errors[number][]>();
  for (const error of model.errors) byCapability.set(error.capability, [...(byCapability.get(error.capability) ?? []), error]);
  for (const [capability, errors] of byCapability) {
    f.print("  ", capability, ": {");
    f.print("    reasons: new Map([");
    for (const e of errors) f.print("      [", JSON.stringify(e.reason), ", ", e.name, "],");
    f.print("    ]),");
    const byStatus = errors.filter((e) => e.byStatus);
    if (byStatus.length === 0) f.print("    statuses: new Map(),");
    else {
      f.print("    statuses: new Map([");
      for (const e of byStatus) f.print("      [", Code, ".", connectCode(e.status), ", ", e.name, "],");
      f.print("    ]),");
    }
    f.print("  },");
  }
  f.print("};");
}

function connectCode(status: string): string {
  return status === "CANCELLED" ? "Canceled" : pascal(status.toLowerCase());
}

function printDoc(f: GeneratedFile, doc: string, indent = ""): void {
  const text = doc.trim();
  if (text.length > 0) f.print(f.jsDoc(text, indent));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}

function pascal(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter((p) => p.length > 0).map((p) => p[0].toUpperCase() + p.slice(1)).join("");
}

function camel(name: string): string {
  const p = pascal(name);
  return p[0].toLowerCase() + p.slice(1);
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/[^A-Za-z0-9]+/g, "-").toLowerCase();
}
