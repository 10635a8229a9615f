import type { DescEnum, DescMessage } from "@bufbuild/protobuf";
import { generatedNotice, type OutputFile } from "../output/output-file";
import { protoDoc } from "./rpc-signatures";
import { guestTypeName, wasmAbiModule, type WasmAbi } from "./wasm-abi";
import { fieldDoc, guestField, memberName, type GuestField, type GuestScalar } from "./wasm-guest-fields";

/** Where the generated AssemblyScript modules live; the hand-written runtime is ../runtime. */
export const asGuestDir = "sdks/wasm/assemblyscript/generated";

/**
 * The AssemblyScript guest SDK: one class per message with its protobuf codec, one
 * namespace of typed host calls per capability (`state.getState(...)`), and serve(),
 * which turns an invocation into a typed handler call.
 */
export function asGuestFiles(abi: WasmAbi, source: string): OutputFile[] {
  const head = `// ${generatedNotice(source)}\n\n`;
  return [
    { path: `${asGuestDir}/messages.ts`, content: head + messagesAs(abi) },
    { path: `${asGuestDir}/calls.ts`, content: head + callsAs(abi) },
  ];
}

const asScalar: Record<GuestScalar, string> = {
  string: "string",
  bytes: "Uint8Array",
  bool: "bool",
  int32: "i32",
  int64: "i64",
  uint32: "u32",
  uint64: "u64",
  double: "f64",
  float: "f32",
};

const zero: Record<GuestScalar, string> = {
  string: '""',
  bytes: "new Uint8Array(0)",
  bool: "false",
  int32: "0",
  int64: "0",
  uint32: "0",
  uint64: "0",
  double: "0",
  float: "0",
};

function jsDoc(lines: string[], indent = ""): string {
  if (lines.length === 0) return "";
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} *${l.length > 0 ? " " : ""}${l}\n`).join("")}${indent} */\n`;
}

function docLinesOf(desc: DescMessage | DescEnum): string[] {
  const text = protoDoc(desc as never);
  return text.length > 0 ? text.split("\n") : [desc.typeName];
}

function fieldTypeAndInit(g: GuestField): [string, string] {
  const f = g.field;
  switch (g.kind) {
    case "scalar":
      return [asScalar[g.scalar], zero[g.scalar]];
    case "enum":
      return ["i32", "0"];
    case "message":
      return [`${guestTypeName(f.message!)} | null`, "null"];
    case "repeatedScalar":
      return [`Array<${asScalar[g.scalar]}>`, `new Array<${asScalar[g.scalar]}>()`];
    case "repeatedMessage":
      return [`Array<${guestTypeName(f.message!)}>`, `new Array<${guestTypeName(f.message!)}>()`];
    case "stringMap":
      return ["Map<string, string>", "new Map<string, string>()"];
    case "messageMap":
      return [`Map<string, ${guestTypeName(f.message!)}>`, `new Map<string, ${guestTypeName(f.message!)}>()`];
  }
}

function messagesAs(abi: WasmAbi): string {
  let out = 'import { Reader, Wire, Writer } from "../runtime/wire";\n\n';
  for (const e of abi.enums) {
    out += jsDoc(docLinesOf(e)) + `export enum ${guestTypeName(e)} {\n`;
    for (const v of e.values) out += `  ${v.name} = ${v.number},\n`;
    out += "}\n\n";
  }
  for (const m of abi.messages) out += messageAs(m);
  return out;
}

function messageAs(m: DescMessage): string {
  const name = guestTypeName(m);
  const fields = m.fields.map(guestField);
  let out = jsDoc(docLinesOf(m)) + `export class ${name} {\n`;
  for (const g of fields) {
    const [type, init] = fieldTypeAndInit(g);
    out += jsDoc(fieldDoc(g.field), "  ") + `  ${memberName(g.field.name)}: ${type} = ${init};\n`;
  }
  out += "\n  /** Encodes the message in protobuf's binary format. */\n  toBytes(): Uint8Array {\n    const w = new Writer();\n    this.encode(w);\n    return w.finish();\n  }\n\n";
  out += "  encode(w: Writer): void {\n";
  for (const g of fields) out += encodeAs(g);
  out += "  }\n\n";
  out += `  /** Decodes protobuf's binary format; on malformed input Wire.failed is set. */\n  static decode(b: Uint8Array): ${name} {\n    const m = new ${name}();\n    const r = new Reader(b);\n    while (r.more()) {\n      const num = r.tag();\n`;
  let first = true;
  for (const g of fields) {
    out += `      ${first ? "" : "} else "}if (num == ${g.field.number}) {\n` + decodeAs(g);
    first = false;
  }
  out += first ? "      r.skip();\n" : "      } else {\n        r.skip();\n      }\n";
  out += "    }\n    return m;\n  }\n}\n\n";
  return out;
}

function encodeAs(g: GuestField): string {
  const n = g.field.number;
  const v = `this.${memberName(g.field.name)}`;
  switch (g.kind) {
    case "scalar":
      return `    w.${g.scalar}(${n}, ${v});\n`;
    case "enum":
      return `    w.int32(${n}, ${v});\n`;
    case "message":
      return `    const f${n} = ${v};\n    if (f${n} !== null) w.bytesAlways(${n}, f${n}.toBytes());\n`;
    case "repeatedScalar":
      return `    for (let i = 0; i < ${v}.length; i++) w.${g.scalar}Always(${n}, ${v}[i]);\n`;
    case "repeatedMessage":
      return `    for (let i = 0; i < ${v}.length; i++) w.bytesAlways(${n}, ${v}[i].toBytes());\n`;
    case "stringMap":
      return `    w.stringMap(${n}, ${v});\n`;
    case "messageMap":
      return (
        `    const k${n} = ${v}.keys().sort();\n    for (let i = 0; i < k${n}.length; i++) {\n` +
        `      const e = new Writer();\n      e.stringAlways(1, k${n}[i]);\n      e.bytesAlways(2, ${v}.get(k${n}[i]).toBytes());\n      w.bytesAlways(${n}, e.finish());\n    }\n`
      );
  }
}

function decodeAs(g: GuestField): string {
  const v = `m.${memberName(g.field.name)}`;
  switch (g.kind) {
    case "scalar":
      return `        ${v} = r.${g.scalar}();\n`;
    case "enum":
      return `        ${v} = r.int32();\n`;
    case "message":
      return `        ${v} = ${guestTypeName(g.field.message!)}.decode(r.bytes());\n`;
    case "repeatedScalar":
      return `        ${v}.push(r.${g.scalar}());\n`;
    case "repeatedMessage":
      return `        ${v}.push(${guestTypeName(g.field.message!)}.decode(r.bytes()));\n`;
    case "stringMap":
      return `        r.stringMapEntry(${v});\n`;
    case "messageMap": {
      const t = guestTypeName(g.field.message!);
      return (
        `        const e = new Reader(r.bytes());\n        let k = "";\n        let value = new ${t}();\n` +
        `        while (e.more()) {\n          const en = e.tag();\n          if (en == 1) k = e.string();\n` +
        `          else if (en == 2) value = ${t}.decode(e.bytes());\n          else e.skip();\n        }\n        ${v}.set(k, value);\n`
      );
    }
  }
}

function callsAs(abi: WasmAbi): string {
  const types = new Set<string>();
  for (const i of abi.imports) types.add(guestTypeName(i.method.input)).add(guestTypeName(i.method.output));
  if (abi.invocation) types.add(guestTypeName(abi.invocation.input)).add(guestTypeName(abi.invocation.output));
  let out = 'import { Abi, Status } from "../runtime/abi";\nimport { Wire } from "../runtime/wire";\n';
  out += `import { ${[...types].sort().join(", ")} } from "./messages";\n\n`;
  for (const i of abi.imports) {
    out += `@external("${wasmAbiModule}", "${i.name}")\n`;
    out += `declare function import_${i.name}(reqPtr: usize, reqLen: u32, respPtrPtr: usize, respLenPtr: usize): u32;\n\n`;
  }
  out += `/** Decodes a host call's response, or null with Abi.lastStatus INTERNAL when it is malformed. */\nfunction decoded<T>(bytes: Uint8Array | null, decode: (b: Uint8Array) => T): T | null {\n  if (bytes === null) return null;\n  Wire.failed = false;\n  const m = decode(bytes);\n  if (!Wire.failed) return m;\n  Abi.lastStatus = Status.INTERNAL;\n  Abi.lastMessage = "the host's response did not decode";\n  return null;\n}\n\n`;
  const groups = [...new Set(abi.imports.map((i) => i.group))];
  for (const group of groups) {
    out += `/** Host calls served by ${group === "kernel" ? "the runtime itself" : `${group} components`}; each answers null on failure (see Abi.lastStatus, Abi.lastMessage). */\n`;
    out += `export namespace ${group} {\n`;
    for (const i of abi.imports.filter((x) => x.group === group)) {
      const input = guestTypeName(i.method.input);
      const output = guestTypeName(i.method.output);
      const doc = protoDoc(i.method);
      out += jsDoc([`${i.service.name}.${i.method.name} (import ${wasmAbiModule}.${i.name}).`, ...(doc ? ["", ...doc.split("\n")] : [])], "  ");
      const fn = i.method.localName;
      out += `  export function ${fn}(req: ${input}): ${output} | null {\n`;
      out += `    const bytes = req.toBytes();\n    const status = import_${i.name}(bytes.dataStart, <u32>bytes.length, Abi.outPtr, Abi.outLen);\n`;
      out += `    return decoded<${output}>(Abi.take(status), (b: Uint8Array): ${output} => ${output}.decode(b));\n  }\n\n`;
    }
    out = out.replace(/\n\n$/, "\n");
    out += "}\n\n";
  }
  out += `/**\n * Calls the host import of that name ("get_state", ...) with an encoded request and answers the\n * encoded response, through the typed messages both ways; null on failure (see Abi.lastStatus).\n */\n`;
  out += "export function callByName(name: string, request: Uint8Array): Uint8Array | null {\n  Wire.failed = false;\n";
  for (const i of abi.imports) {
    const input = guestTypeName(i.method.input);
    out += `  if (name == "${i.name}") {\n    const req = ${input}.decode(request);\n    if (Wire.failed) return badRequest();\n`;
    out += `    const resp = ${i.group}.${i.method.localName}(req);\n    return resp === null ? null : resp.toBytes();\n  }\n`;
  }
  out += `  Abi.lastStatus = 12;\n  Abi.lastMessage = "no host import named " + name;\n  return null;\n}\n\n`;
  out += `function badRequest(): Uint8Array | null {\n  Abi.lastStatus = Status.INVALID_ARGUMENT;\n  Abi.lastMessage = "the request does not decode";\n  return null;\n}\n\n`;
  if (abi.invocation) {
    const input = guestTypeName(abi.invocation.input);
    const output = guestTypeName(abi.invocation.output);
    out += `/**\n * Runs one invocation (an HTTP trigger, InvokeService naming the function, or a pub/sub\n * event): export it as ottavo_handle from the function's entry file,\n * \`export function ottavo_handle(ptr: usize, len: u32): u32 { return serve(ptr, len, handle); }\`.\n * A handler that calls fail() answers that status and message.\n */\n`;
    out += `export function serve(ptr: usize, len: u32, handler: (req: ${input}) => ${output}): u32 {\n`;
    out += `  Wire.failed = false;\n  const req = ${input}.decode(Abi.copy(ptr, len));\n  if (Wire.failed) {\n    Abi.output(Uint8Array.wrap(String.UTF8.encode("cannot decode the invocation")));\n    return Status.INVALID_ARGUMENT;\n  }\n`;
    out += `  Abi.failCode = 0;\n  const resp = handler(req);\n  if (Abi.failCode != 0) {\n    Abi.output(Uint8Array.wrap(String.UTF8.encode(Abi.failMessage)));\n    return Abi.failCode;\n  }\n  Abi.output(resp.toBytes());\n  return Status.OK;\n}\n`;
  }
  return out;
}
