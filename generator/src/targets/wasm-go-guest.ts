import type { DescEnum, DescMessage } from "@bufbuild/protobuf";
import { generatedNotice, type OutputFile } from "../output/output-file";
import { protoDoc } from "./rpc-signatures";
import { pascalCase } from "./ts-names";
import { guestTypeName, wasmAbiModule, type WasmAbi } from "./wasm-abi";
import { exportedName, fieldDoc, guestField, type GuestField, type GuestScalar } from "./wasm-guest-fields";

/** Where the generated Go package lives; its hand-written runtime is the sibling package abi. */
export const goGuestDir = "sdks/wasm/go/ottavo";
const abiImport = "github.com/ottavo/wasm-sdk/abi";

/**
 * The Go guest SDK (GOOS=wasip1, go:wasmimport): one struct per message with its
 * protobuf codec, and one typed call per host import, grouped per capability
 * (`ottavo.State.GetState(...)`). The wire format and the call convention live in
 * the hand-written package abi beside it.
 */
export function goGuestFiles(abi: WasmAbi, source: string): OutputFile[] {
  return [
    { path: `${goGuestDir}/messages.go`, content: head(source) + messagesGo(abi).replace(/\n+$/, "\n") },
    { path: `${goGuestDir}/calls.go`, content: head(source) + callsGo(abi) },
  ];
}

function head(source: string): string {
  return `// ${generatedNotice(source)}\n\n`;
}

const goScalar: Record<GuestScalar, string> = {
  string: "string",
  bytes: "[]byte",
  bool: "bool",
  int32: "int32",
  int64: "int64",
  uint32: "uint32",
  uint64: "uint64",
  double: "float64",
  float: "float32",
};

/** The abi.Encoder / abi.Decoder method of each scalar. */
const codecName: Record<GuestScalar, string> = {
  string: "String",
  bytes: "Bytes",
  bool: "Bool",
  int32: "Int32",
  int64: "Int64",
  uint32: "Uint32",
  uint64: "Uint64",
  double: "Double",
  float: "Float",
};

function comment(lines: string[], indent = ""): string {
  return lines.map((l) => `${indent}//${l.length > 0 ? " " : ""}${l}\n`).join("");
}

function goType(g: GuestField): string {
  const f = g.field;
  switch (g.kind) {
    case "scalar":
      return goScalar[g.scalar];
    case "enum":
      return guestTypeName(f.enum!);
    case "message":
      return `*${guestTypeName(f.message!)}`;
    case "repeatedScalar":
      return `[]${goScalar[g.scalar]}`;
    case "repeatedMessage":
      return `[]*${guestTypeName(f.message!)}`;
    case "stringMap":
      return "map[string]string";
    case "messageMap":
      return `map[string]*${guestTypeName(f.message!)}`;
  }
}

function messagesGo(abi: WasmAbi): string {
  let out = "package ottavo\n\nimport \"" + abiImport + "\"\n\n";
  for (const e of abi.enums) out += enumGo(e);
  for (const m of abi.messages) out += messageGo(m);
  return out;
}

function enumGo(e: DescEnum): string {
  const name = guestTypeName(e);
  let out = comment(docOf(e, name)) + `type ${name} int32\n\nconst (\n`;
  const width = Math.max(...e.values.map((v) => v.name.length));
  for (const v of e.values) out += `\t${name}_${v.name.padEnd(width)} ${name} = ${v.number}\n`;
  return out + ")\n\n";
}

function docOf(desc: DescMessage | DescEnum, name: string): string[] {
  const text = protoDocOf(desc);
  return text.length > 0 ? text.split("\n") : [`${name} is ${desc.typeName}.`];
}

function protoDocOf(desc: DescMessage | DescEnum): string {
  // Well-known types' docs use Markdown lists that gofmt would re-indent; their names say enough.
  if (desc.file.proto.package.startsWith("google.")) return "";
  return protoDoc(desc as never);
}

function messageGo(m: DescMessage): string {
  const name = guestTypeName(m);
  const fields = m.fields.map(guestField);
  let out = comment(docOf(m, name)) + `type ${name} struct {\n`;
  // Padded as gofmt aligns them (a comment line starts a new run), so the output is gofmt-clean.
  const runs: GuestField[][] = [];
  for (const g of fields) {
    if (runs.length === 0 || fieldDoc(g.field).length > 0) runs.push([]);
    runs[runs.length - 1].push(g);
  }
  for (const run of runs) {
    const width = Math.max(...run.map((g) => exportedName(g.field.name).length));
    for (const g of run) out += comment(fieldDoc(g.field), "\t") + `\t${exportedName(g.field.name).padEnd(width)} ${goType(g)}\n`;
  }
  out += "}\n\n";
  out += `// Marshal encodes the message in protobuf's binary format.\nfunc (m *${name}) Marshal() []byte {\n\tvar e abi.Encoder\n\tm.MarshalTo(&e)\n\treturn e.Encoded()\n}\n\n`;
  out += `// MarshalTo appends the message's fields to e.\nfunc (m *${name}) MarshalTo(e *abi.Encoder) {\n`;
  for (const g of fields) out += encodeGo(g);
  out += "}\n\n";
  out += `// Unmarshal decodes protobuf's binary format into m; unknown fields are skipped.\nfunc (m *${name}) Unmarshal(b []byte) error {\n`;
  if (fields.length === 0) {
    out += "\treturn abi.NewDecoder(b).SkipAll()\n}\n\n";
    return out;
  }
  out += "\td := abi.NewDecoder(b)\n\tfor d.More() {\n\t\tnum, wt, err := d.Tag()\n\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n\t\tswitch num {\n";
  for (const g of fields) out += `\t\tcase ${g.field.number}:\n` + decodeGo(g);
  out += "\t\tdefault:\n\t\t\terr = d.Skip(wt)\n\t\t}\n\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n\treturn nil\n}\n\n";
  return out;
}

function encodeGo(g: GuestField): string {
  const n = g.field.number;
  const v = `m.${exportedName(g.field.name)}`;
  switch (g.kind) {
    case "scalar":
      return `\te.${codecName[g.scalar]}(${n}, ${v})\n`;
    case "enum":
      return `\te.Int32(${n}, int32(${v}))\n`;
    case "message":
      return `\tif ${v} != nil {\n\t\te.Message(${n}, ${v})\n\t}\n`;
    case "repeatedScalar":
      return `\tfor _, v := range ${v} {\n\t\te.${codecName[g.scalar]}Always(${n}, v)\n\t}\n`;
    case "repeatedMessage":
      return `\tfor _, v := range ${v} {\n\t\te.Message(${n}, v)\n\t}\n`;
    case "stringMap":
      return `\te.StringMap(${n}, ${v})\n`;
    case "messageMap":
      return `\tfor _, k := range abi.SortedKeys(${v}) {\n\t\te.MessageMapEntry(${n}, k, ${v}[k])\n\t}\n`;
  }
}

function decodeGo(g: GuestField): string {
  const v = `m.${exportedName(g.field.name)}`;
  switch (g.kind) {
    case "scalar":
      return `\t\t\t${v}, err = d.${codecName[g.scalar]}(wt)\n`;
    case "enum":
      return `\t\t\tvar v int32\n\t\t\tv, err = d.Int32(wt)\n\t\t\t${v} = ${guestTypeName(g.field.enum!)}(v)\n`;
    case "message":
      return `\t\t\t${v} = &${guestTypeName(g.field.message!)}{}\n\t\t\terr = d.Message(wt, ${v})\n`;
    case "repeatedScalar":
      return `\t\t\tvar v ${goScalar[g.scalar]}\n\t\t\tv, err = d.${codecName[g.scalar]}(wt)\n\t\t\t${v} = append(${v}, v)\n`;
    case "repeatedMessage":
      return `\t\t\tv := &${guestTypeName(g.field.message!)}{}\n\t\t\terr = d.Message(wt, v)\n\t\t\t${v} = append(${v}, v)\n`;
    case "stringMap":
      return `\t\t\tif ${v} == nil {\n\t\t\t\t${v} = map[string]string{}\n\t\t\t}\n\t\t\terr = d.StringMapEntry(wt, ${v})\n`;
    case "messageMap":
      return (
        `\t\t\tif ${v} == nil {\n\t\t\t\t${v} = map[string]*${guestTypeName(g.field.message!)}{}\n\t\t\t}\n` +
        `\t\t\tv := &${guestTypeName(g.field.message!)}{}\n\t\t\tvar k string\n\t\t\tk, err = d.MessageMapEntry(wt, v)\n\t\t\t${v}[k] = v\n`
      );
  }
}

function callsGo(abi: WasmAbi): string {
  let out = `package ottavo\n\nimport (\n\t"unsafe"\n\n\t"${abiImport}"\n)\n\n`;
  const groups = [...new Set(abi.imports.map((i) => i.group))];
  for (const group of groups) {
    const type = `${group}Calls`;
    out += `// ${pascalCase(group)} holds the host calls served by ${group === "kernel" ? "the runtime itself" : `${group} components`}.\n`;
    out += `var ${pascalCase(group)} ${type}\n\n`;
    out += `// ${type} groups the ${group} host calls.\ntype ${type} struct{}\n\n`;
  }
  for (const i of abi.imports) {
    const fn = `import${i.method.name}`;
    const input = guestTypeName(i.method.input);
    const output = guestTypeName(i.method.output);
    out += `//go:wasmimport ${wasmAbiModule} ${i.name}\n`;
    out += `func ${fn}(reqPtr unsafe.Pointer, reqLen uint32, respPtrPtr unsafe.Pointer, respLenPtr unsafe.Pointer) uint32\n\n`;
    const doc = protoDoc(i.method);
    out += comment([`${i.method.name} calls ${i.service.name}.${i.method.name} on the runtime (import ${wasmAbiModule}.${i.name}).`, ...(doc ? ["", ...doc.split("\n")] : [])]);
    out += `func (${pascalCase(i.group)[0].toLowerCase()} ${i.group}Calls) ${i.method.name}(req *${input}) (*${output}, error) {\n`;
    out += `\tout := &${output}{}\n\tif err := abi.Call(${fn}, req, out); err != nil {\n\t\treturn nil, err\n\t}\n\treturn out, nil\n}\n\n`;
  }
  out += "// CallByName calls the host import of that name (\"get_state\", ...) with an encoded request and\n// answers the encoded response, going through the typed messages both ways: for forwarders\n// and for tests that drive every import.\n";
  out += "func CallByName(name string, request []byte) ([]byte, error) {\n\tswitch name {\n";
  for (const i of abi.imports) {
    out += `\tcase "${i.name}":\n\t\treq := &${guestTypeName(i.method.input)}{}\n\t\tif err := req.Unmarshal(request); err != nil {\n\t\t\treturn nil, abi.Errorf(abi.InvalidArgument, "%v", err)\n\t\t}\n`;
    out += `\t\tresp, err := ${pascalCase(i.group)}.${i.method.name}(req)\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\treturn resp.Marshal(), nil\n`;
  }
  out += "\t}\n\treturn nil, abi.Errorf(abi.Unimplemented, \"no host import named %q\", name)\n}\n\n";
  if (abi.invocation) {
    const input = guestTypeName(abi.invocation.input);
    const output = guestTypeName(abi.invocation.output);
    out += `// Handle registers the function: each invocation (an HTTP trigger, InvokeService naming the\n// function, or a pub/sub event) arrives as a ${input} and answers a ${output}.\n// An error answers its abi.Error code (UNKNOWN for other errors) with its text.\n`;
    out += `func Handle(handler func(req *${input}) (*${output}, error)) {\n`;
    out += `\tabi.Serve(func(in []byte) ([]byte, error) {\n\t\treq := &${input}{}\n\t\tif err := req.Unmarshal(in); err != nil {\n\t\t\treturn nil, abi.Errorf(abi.InvalidArgument, "cannot decode the invocation: %v", err)\n\t\t}\n`;
    out += `\t\tresp, err := handler(req)\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\tif resp == nil {\n\t\t\tresp = &${output}{}\n\t\t}\n\t\treturn resp.Marshal(), nil\n\t})\n}\n`;
  }
  return out;
}
