import { ScalarType, type DescField, type DescMessage, type DescOneof } from "@bufbuild/protobuf";
import type { GeneratedFile, Printable, Schema } from "@bufbuild/protoplugin";
import type { SpecModel } from "../spec-model";
import type { Target } from "./target";
import { runTsTarget } from "./es-plugin";

/**
 * Specialized binary codecs for the gRPC fast path: per message reachable from a
 * unary rpc of any service in spec/proto (requests, responses and every message
 * nested in them), a decoder and an encoder written out field by field, a
 * drop-in replacement for protobuf-es's reflection codec (fromBinary, and
 * toBinary(create(...))) that reads and writes the same bytes several times
 * faster and with less garbage (measured in bench/src/codec-bench.ts).
 *
 * Output: generated/codecs/index.ts (the `codecs` table by type name), on the
 * reader and writer of @ottavo/component-runtime (codec-wire.ts, hand-written,
 * imported like protobuf-es's generated code imports its runtime). A message whose shape
 * protobuf-es treats specially (wrapper types and Struct unwrapped in fields,
 * groups, closed enums, proto2 defaults) gets no codec: the fast path falls back
 * to protobuf-es for it, and index.ts lists it.
 */
export const codecsTarget: Target = {
  name: "codecs",
  generate: (spec) => runTsTarget(spec, "codecs", (schema) => printCodecs(schema, spec), () => "the unary rpcs of spec/proto"),
};

export const codecsDir = "codecs";
/** The versioned runtime generated code imports (see component-runtime/src/codec-wire.ts). */
const wireModule = "@ottavo/component-runtime";

// Wire types.
const varint = 0;
const bit64 = 1;
const lengthDelimited = 2;
const bit32 = 5;

/** The edition protobuf-es gives proto3 files; only they are covered (no defaults, no groups, open enums). */
const editionProto3 = 999;
/** FieldPresence.IMPLICIT: a zero value is "not set" and is not written. */
const implicitPresence = 2;

/** Messages protobuf-es represents specially when used as a field (create() and reflection unwrap them). */
const speciallyMapped = new Set([
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Struct",
]);

function printCodecs(schema: Schema, spec: SpecModel): void {
  const f = schema.generateFile(`${codecsDir}/index.ts`);
  const { covered, fallback } = reachableMessages(spec);
  const names = localNames(covered);
  const wire = {
    Reader: f.import("WireReader", wireModule),
    Writer: f.import("WireWriter", wireModule, true),
    writer: f.import("wireWriter", wireModule),
    unknownOf: f.import("wireUnknownOf", wireModule),
    boolKey: f.import("wireBoolKey", wireModule),
    intKey: f.import("wireIntKey", wireModule),
    Codec: f.import("MessageCodec", wireModule, true),
    UnknownField: f.import("UnknownField", "@bufbuild/protobuf", true),
    MessageInitShape: f.import("MessageInitShape", "@bufbuild/protobuf", true),
    DescMessage: f.import("DescMessage", "@bufbuild/protobuf", true),
  };
  const ctx: Ctx = { f, names, wire };

  for (const message of covered) {
    printZero(ctx, message);
    printDecode(ctx, message);
    printWrite(ctx, message);
  }

  f.print(f.jsDoc([
    "A specialized codec per message the unary rpcs of spec/proto use, by type name",
    "(e.g. \"spec.proto.runtime.v1.GetStateRequest\"): decode gives what protobuf-es's",
    "fromBinary gives and throws where it throws; encode gives the bytes of",
    "toBinary(schema, create(schema, init)), encodeFramed the same bytes as one gRPC",
    "message frame. Absent type names fall back to protobuf-es.",
    ...(fallback.length > 0 ? ["", "Left to protobuf-es (a shape it maps specially):", ...fallback.map((d) => `- ${d.typeName}`)] : []),
  ].join("\n")));
  f.print(f.export("const", "codecs"), ": Readonly<Record<string, ", wire.Codec, ">> = {");
  for (const message of covered) {
    const name = names.get(message.typeName)!;
    f.print("  ", JSON.stringify(message.typeName), ": {");
    f.print("    typeName: ", JSON.stringify(message.typeName), ",");
    f.print("    decode: (bytes: Uint8Array) => decode", name, "(new ", wire.Reader, "(bytes), bytes.byteLength, 1),");
    f.print("    encode(init: ", wire.MessageInitShape, "<typeof ", f.importSchema(message, true), ">): Uint8Array {");
    f.print("      ", wire.writer, ".reset();");
    f.print("      write", name, "(", wire.writer, ", init);");
    f.print("      return ", wire.writer, ".finish();");
    f.print("    },");
    f.print("    encodeFramed(init: ", wire.MessageInitShape, "<typeof ", f.importSchema(message, true), ">): Uint8Array {");
    f.print("      ", wire.writer, ".reset();");
    f.print("      write", name, "(", wire.writer, ", init);");
    f.print("      return ", wire.writer, ".finishFramed();");
    f.print("    },");
    f.print("  } satisfies ", wire.Codec, "<typeof ", f.importSchema(message, true), ">,");
  }
  f.print("};");
  f.print();
  f.print(f.jsDoc("The codec of a message schema, typed by it; undefined where protobuf-es must do the work."));
  f.print(f.export("function", "codecFor"), "<Desc extends ", wire.DescMessage, ">(schema: Desc): ", wire.Codec, "<Desc> | undefined {");
  f.print("  return codecs[schema.typeName] as ", wire.Codec, "<Desc> | undefined;");
  f.print("}");
}

interface Ctx {
  readonly f: GeneratedFile;
  readonly names: ReadonlyMap<string, string>;
  readonly wire: Record<"Reader" | "Writer" | "writer" | "unknownOf" | "boolKey" | "intKey" | "Codec" | "UnknownField" | "MessageInitShape" | "DescMessage", Printable>;
}

/**
 * Every message a unary rpc reads or answers, with the messages nested in them,
 * sorted by type name; those with a shape the codecs do not reproduce (and any
 * message holding one) are set apart for protobuf-es.
 */
function reachableMessages(spec: SpecModel): { covered: DescMessage[]; fallback: DescMessage[] } {
  const seen = new Map<string, DescMessage>();
  const visit = (message: DescMessage): void => {
    if (seen.has(message.typeName)) return;
    seen.set(message.typeName, message);
    for (const field of message.fields) {
      if (field.message) visit(field.message);
    }
  };
  for (const file of spec.protos.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        if (method.methodKind !== "unary") continue;
        visit(method.input);
        visit(method.output);
      }
    }
  }
  const all = [...seen.values()].sort((a, b) => (a.typeName < b.typeName ? -1 : a.typeName > b.typeName ? 1 : 0));
  const unsupported = new Set(all.filter((m) => !ownShapeSupported(m)).map((m) => m.typeName));
  // A message holding an unsupported one cannot be encoded field by field either.
  for (let changed = true; changed; ) {
    changed = false;
    for (const m of all) {
      if (unsupported.has(m.typeName)) continue;
      if (m.fields.some((field) => field.message && unsupported.has(field.message.typeName))) {
        unsupported.add(m.typeName);
        changed = true;
      }
    }
  }
  return {
    covered: all.filter((m) => !unsupported.has(m.typeName)),
    fallback: all.filter((m) => unsupported.has(m.typeName)),
  };
}

function ownShapeSupported(message: DescMessage): boolean {
  if (message.file.edition !== editionProto3 || speciallyMapped.has(message.typeName)) return false;
  return message.fields.every((field) => {
    if (field.fieldKind === "message" && (speciallyMapped.has(field.message.typeName) || field.delimitedEncoding)) return false;
    if (field.fieldKind === "list" && field.listKind === "message" && field.delimitedEncoding) return false;
    if (field.enum && !field.enum.open) return false;
    return true;
  });
}

/** Short local function names: the name inside the package, the full type name where two collide. */
function localNames(messages: readonly DescMessage[]): Map<string, string> {
  const short = (m: DescMessage) => (m.file.proto.package ? m.typeName.slice(m.file.proto.package.length + 1) : m.typeName).replace(/\./g, "_");
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(short(m), (counts.get(short(m)) ?? 0) + 1);
  return new Map(messages.map((m) => [m.typeName, counts.get(short(m)) === 1 ? short(m) : m.typeName.replace(/\./g, "_")]));
}

/** new<Name>(): the zero message, as protobuf-es's create() builds it (same properties, same order). */
function printZero({ f, names }: Ctx, message: DescMessage): void {
  const name = names.get(message.typeName)!;
  const parts: string[] = [`$typeName: ${JSON.stringify(message.typeName)}`];
  for (const member of message.members) {
    if (member.kind === "oneof") parts.push(`${member.localName}: { case: undefined }`);
    else if (member.presence === implicitPresence) parts.push(`${member.localName}: ${zeroValue(member)}`);
  }
  f.print("function new", name, "(): ", f.importShape(message), " {");
  f.print("  return { ", parts.join(", "), " };");
  f.print("}");
  f.print();
}

function zeroValue(field: DescField): string {
  switch (field.fieldKind) {
    case "list":
      return "[]";
    case "map":
      return "{}";
    case "enum":
      return String(field.enum.values[0].number);
    case "scalar":
      return scalarZero(field.scalar, field.longAsString);
    case "message":
      throw new Error(`${field.toString()}: a message field has no zero value`);
  }
}

function scalarZero(scalar: ScalarType, longAsString: boolean): string {
  switch (scalar) {
    case ScalarType.STRING:
      return '""';
    case ScalarType.BOOL:
      return "false";
    case ScalarType.BYTES:
      return "new Uint8Array(0)";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return longAsString ? '"0"' : "0n";
    default:
      return "0";
  }
}

function is64(scalar: ScalarType): boolean {
  return [ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64].includes(scalar);
}

/** The reader call for one scalar value (64-bit integers as text where the field says jstype = JS_STRING). */
function readScalar(scalar: ScalarType, utf8: boolean, longAsString: boolean): string {
  if (longAsString && scalar === ScalarType.INT64) return "r.int64String()";
  if (longAsString && scalar === ScalarType.UINT64) return "r.uint64String()";
  const call = `r.${scalarMethod(scalar)}(${scalar === ScalarType.STRING ? String(utf8) : ""})`;
  return is64(scalar) && longAsString ? `String(${call})` : call;
}

function scalarMethod(scalar: ScalarType): string {
  const method = ScalarType[scalar];
  if (method === undefined) throw new Error(`unknown scalar type ${scalar}`);
  return method.toLowerCase();
}

function wireTypeOf(scalar: ScalarType): number {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return lengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return bit32;
    default:
      return varint;
  }
}

/**
 * decode<Name>(r, end, depth, into?): reads fields until `end`, as protobuf-es's
 * readMessage does: by field number only (the wire type of a known field is not
 * checked), a repeated message field merging into the one already read, unknown
 * fields kept in $unknown.
 */
function printDecode(ctx: Ctx, message: DescMessage): void {
  const { f, names, wire } = ctx;
  const name = names.get(message.typeName)!;
  const Shape = f.importShape(message);
  f.print("function decode", name, "(r: ", wire.Reader, ", end: number, depth: number, into?: ", Shape, "): ", Shape, " {");
  f.print("  r.depth(depth, ", JSON.stringify(message.typeName), ");");
  f.print("  const m = into ?? new", name, "();");
  f.print("  let unknown: ", wire.UnknownField, "[] | undefined = m.$unknown;");
  f.print("  while (r.pos < end) {");
  f.print("    const tag = r.tag();");
  f.print("    switch (tag >>> 3) {");
  for (const field of [...message.fields].sort((a, b) => a.number - b.number)) {
    f.print("      case ", String(field.number), ": {");
    for (const line of decodeField(ctx, field)) f.print("        ", line);
    f.print("        break;");
    f.print("      }");
  }
  f.print("      default:");
  f.print("        unknown = r.unknown(tag, depth, unknown);");
  f.print("    }");
  f.print("  }");
  f.print("  if (unknown !== undefined && unknown.length > 0) m.$unknown = unknown;");
  f.print("  return m;");
  f.print("}");
  f.print();
}

function nestedDecode(ctx: Ctx, message: DescMessage, into?: string): string {
  return `decode${ctx.names.get(message.typeName)!}(r, r.end(r.uint32()), depth + 1${into ? `, ${into}` : ""})`;
}

function decodeField(ctx: Ctx, field: DescField): string[] {
  const target = field.oneof ? undefined : `m.${field.localName}`;
  const setOneof = (oneof: DescOneof, value: string) => [`m.${oneof.localName} = { case: ${JSON.stringify(field.localName)}, value: ${value} };`];
  switch (field.fieldKind) {
    case "scalar": {
      const value = readScalar(field.scalar, field.utf8Validation, field.longAsString);
      return field.oneof ? setOneof(field.oneof, value) : [`${target} = ${value};`];
    }
    case "enum":
      return field.oneof ? setOneof(field.oneof, "r.int32()") : [`${target} = r.int32();`];
    case "message":
      if (field.oneof) {
        const o = `m.${field.oneof.localName}`;
        const current = `${o}.case === ${JSON.stringify(field.localName)} ? ${o}.value : undefined`;
        return setOneof(field.oneof, nestedDecode(ctx, field.message, current));
      }
      return [`${target} = ${nestedDecode(ctx, field.message, target)};`];
    case "list": {
      if (field.listKind === "message") return [`${target}.push(${nestedDecode(ctx, field.message)});`];
      const scalar = field.listKind === "enum" ? ScalarType.INT32 : field.scalar!;
      const value = readScalar(scalar, field.utf8Validation, field.listKind === "scalar" && field.longAsString);
      if (scalar === ScalarType.STRING || scalar === ScalarType.BYTES) return [`${target}.push(${value});`];
      // packed or not, whatever the field declares: protobuf-es reads both
      return [
        `if ((tag & 7) === ${lengthDelimited}) {`,
        `  const e = r.end(r.uint32());`,
        `  while (r.pos < e) ${target}.push(${value});`,
        `} else ${target}.push(${value});`,
      ];
    }
    case "map": {
      const key = readScalar(field.mapKey, field.utf8Validation, false);
      let value: string;
      let zero: string;
      switch (field.mapKind) {
        case "scalar":
          value = readScalar(field.scalar, field.utf8Validation, false);
          zero = scalarZero(field.scalar, false);
          break;
        case "enum":
          value = "r.int32()";
          zero = String(field.enum.values[0].number);
          break;
        case "message":
          value = nestedDecode(ctx, field.message);
          zero = `new${ctx.names.get(field.message.typeName)!}()`;
          break;
      }
      // As protobuf-es: an entry's other field numbers are not skipped, a missing key or value is zero.
      return [
        `const e = r.end(r.uint32());`,
        `let k: ${mapKeyType(field.mapKey)} | undefined;`,
        `let v: ${mapValueType(ctx, field)} | undefined;`,
        `while (r.pos < e) {`,
        `  switch (r.tag() >>> 3) {`,
        `    case 1:`,
        `      k = ${key};`,
        `      break;`,
        `    case 2:`,
        `      v = ${value};`,
        `      break;`,
        `  }`,
        `}`,
        `${target}[${field.mapKey === ScalarType.STRING ? `k ?? ""` : `String(k ?? ${scalarZero(field.mapKey, false)})`}] = v ?? ${zero};`,
      ];
    }
  }
}

function mapKeyType(scalar: ScalarType): string {
  if (scalar === ScalarType.STRING) return "string";
  if (scalar === ScalarType.BOOL) return "boolean";
  return is64(scalar) ? "bigint" : "number";
}

function mapValueType(ctx: Ctx, field: DescField & { fieldKind: "map" }): string {
  switch (field.mapKind) {
    case "enum":
      return "number";
    case "message":
      // printed through a type reference the file already imports
      return `ReturnType<typeof new${ctx.names.get(field.message.typeName)!}>`;
    case "scalar":
      if (field.scalar === ScalarType.BYTES) return "Uint8Array";
      if (field.scalar === ScalarType.STRING) return "string";
      if (field.scalar === ScalarType.BOOL) return "boolean";
      return is64(field.scalar) ? "bigint" : "number";
  }
}

/**
 * write<Name>(w, m): writes what toBinary(create(schema, m)) writes: set fields
 * in field-number order (proto3 zero values left out), then, for a message of
 * this very type, its unknown fields.
 */
function printWrite(ctx: Ctx, message: DescMessage): void {
  const { f, names, wire } = ctx;
  const name = names.get(message.typeName)!;
  f.print("function write", name, "(w: ", wire.Writer, ", m: ", wire.MessageInitShape, "<typeof ", f.importSchema(message, true), ">): void {");
  for (const field of [...message.fields].sort((a, b) => a.number - b.number)) {
    f.print("  {");
    for (const line of writeField(ctx, field)) f.print("    ", line);
    f.print("  }");
  }
  f.print("  w.unknown(", wire.unknownOf, "(m, ", JSON.stringify(message.typeName), "));");
  f.print("}");
  f.print();
}

function tagCall(no: number, wireType: number): string {
  const bytes: number[] = [];
  let tag = ((no << 3) | wireType) >>> 0;
  while (tag > 0x7f) {
    bytes.push((tag & 0x7f) | 0x80);
    tag >>>= 7;
  }
  bytes.push(tag);
  if (bytes.length === 1) return `w.tag1(${bytes[0]});`;
  if (bytes.length === 2) return `w.tag2(${bytes[0]}, ${bytes[1]});`;
  return `w.tag(${no}, ${wireType});`;
}

/** The test protobuf-es's isScalarZeroValue makes for a value `v` known not to be null. */
function nonZero(scalar: ScalarType): string {
  switch (scalar) {
    case ScalarType.STRING:
      return `v !== ""`;
    case ScalarType.BOOL:
      return `v !== false`;
    case ScalarType.BYTES:
      // a Uint8Array, or an array of numbers that create() turns into one
      return `v.length !== 0`;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return `!Object.is(v, 0)`;
    default:
      // loose, as protobuf-es: 0, 0n and "0" are all zero
      return `(v as unknown) != 0`;
  }
}

function writeScalarCall(scalar: ScalarType, value: string): string {
  return `w.${scalarMethod(scalar)}(${value});`;
}

function nestedWrite(ctx: Ctx, field: DescField, message: DescMessage, value: string, no = field.number): string[] {
  return [tagCall(no, lengthDelimited), `const s = w.fork();`, `write${ctx.names.get(message.typeName)!}(w, ${value});`, `w.join(s);`];
}

function indent(n: number, line: Printable): Printable {
  return [" ".repeat(n), line];
}

function writeField(ctx: Ctx, field: DescField): Printable[] {
  if (field.oneof) {
    const body = (value: string): Printable[] => {
      switch (field.fieldKind) {
        case "scalar":
          return [tagCall(field.number, wireTypeOf(field.scalar)), writeScalarCall(field.scalar, value)];
        case "enum":
          return [tagCall(field.number, varint), writeScalarCall(ScalarType.INT32, value)];
        case "message":
          return nestedWrite(ctx, field, field.message, value);
      }
    };
    return [
      `const o = m.${field.oneof.localName};`,
      `if (o != null && o.case === ${JSON.stringify(field.localName)}) {`,
      ...body("o.value").map((l) => indent(2, l)),
      `}`,
    ];
  }
  const read = `const v = m.${field.localName};`;
  switch (field.fieldKind) {
    case "scalar": {
      const cond = field.presence === implicitPresence ? `v != null && ${nonZero(field.scalar)}` : `v != null`;
      return [read, `if (${cond}) {`, `  ${tagCall(field.number, wireTypeOf(field.scalar))}`, `  ${writeScalarCall(field.scalar, "v")}`, `}`];
    }
    case "enum": {
      const cond = field.presence === implicitPresence ? `v != null && v !== ${field.enum.values[0].number}` : `v != null`;
      return [read, `if (${cond}) {`, `  ${tagCall(field.number, varint)}`, `  ${writeScalarCall(ScalarType.INT32, "v")}`, `}`];
    }
    case "message":
      return [read, `if (v != null) {`, ...nestedWrite(ctx, field, field.message, "v").map((l) => indent(2, l)), `}`];
    case "list": {
      if (field.listKind === "message") {
        return [
          read,
          `if (v != null) {`,
          `  for (const item of v) {`,
          ...nestedWrite(ctx, field, field.message, "item").map((l) => indent(4, l)),
          `  }`,
          `}`,
        ];
      }
      const scalar = field.listKind === "enum" ? ScalarType.INT32 : field.scalar!;
      if (field.packed && scalar !== ScalarType.STRING && scalar !== ScalarType.BYTES) {
        return [
          read,
          `if (v != null && v.length > 0) {`,
          `  ${tagCall(field.number, lengthDelimited)}`,
          `  const s = w.fork();`,
          `  for (const item of v) ${writeScalarCall(scalar, "item")}`,
          `  w.join(s);`,
          `}`,
        ];
      }
      return [read, `if (v != null) {`, `  for (const item of v) {`, `    ${tagCall(field.number, wireTypeOf(scalar))}`, `    ${writeScalarCall(scalar, "item")}`, `  }`, `}`];
    }
    case "map": {
      const key = mapKeyWrite(ctx, field.mapKey);
      let value: Printable[];
      switch (field.mapKind) {
        case "scalar":
          value = [tagCall(2, wireTypeOf(field.scalar)), writeScalarCall(field.scalar, "v[k]")];
          break;
        case "enum":
          value = [tagCall(2, varint), writeScalarCall(ScalarType.INT32, "v[k]")];
          break;
        case "message":
          value = [tagCall(2, lengthDelimited), `const sv = w.fork();`, `write${ctx.names.get(field.message.typeName)!}(w, v[k]);`, `w.join(sv);`];
          break;
      }
      return [
        read,
        `if (v != null) {`,
        `  for (const k of Object.keys(v)) {`,
        `    ${tagCall(field.number, lengthDelimited)}`,
        `    const s = w.fork();`,
        `    ${tagCall(1, wireTypeOf(field.mapKey))}`,
        indent(4, key),
        ...value.map((l) => indent(4, l)),
        `    w.join(s);`,
        `  }`,
        `}`,
      ];
    }
  }
}

/** A map key back from its object key to the key type, as protobuf-es's reflection reads it. */
function mapKeyWrite(ctx: Ctx, key: ScalarType): Printable {
  if (key === ScalarType.BOOL) return ["w.bool(", ctx.wire.boolKey, "(k));"];
  if (key === ScalarType.STRING || is64(key)) return writeScalarCall(key, "k");
  return [`w.${scalarMethod(key)}(`, ctx.wire.intKey, "(k));"];
}
