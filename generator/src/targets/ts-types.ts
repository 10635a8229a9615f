import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";
import type { TypeRef } from "../idl";
import { componentRuntime } from "./component-runtime";

/**
 * The TypeScript form of an IDL type. Records, enums and callbacks of the same
 * capability are printed by name (they live in the same module); proto types are
 * imported from the protobuf-es output.
 */
export function tsType(f: GeneratedFile, type: TypeRef): Printable[] {
  switch (type.kind) {
    case "scalar":
      return [scalarTypes[type.name]];
    case "list":
      return [...wrapUnion(f, type.element), "[]"];
    case "map":
      return type.key.kind === "scalar" && type.key.name === "string"
        ? ["Record<string, ", ...tsType(f, type.value), ">"]
        : ["Map<", ...tsType(f, type.key), ", ", ...tsType(f, type.value), ">"];
    case "stream":
      return ["AsyncIterable<", ...tsType(f, type.element), ">"];
    case "message":
    case "enum":
    case "callback":
      return [type.decl.name];
    case "protoMessage":
    case "protoEnum":
      return [f.importShape(type.desc)];
    case "subscription":
      return [f.import("Subscription", componentRuntime, true)];
  }
}

/** The return type of an async operation: streams are returned as they are, the rest as promises. */
export function tsReturnType(f: GeneratedFile, type: TypeRef | undefined): Printable[] {
  if (type === undefined) return ["Promise<void>"];
  if (type.kind === "stream") return tsType(f, type);
  return ["Promise<", ...tsType(f, type), ">"];
}

const scalarTypes = {
  string: "string",
  bytes: "Uint8Array",
  bool: "boolean",
  int32: "number",
  uint32: "number",
  double: "number",
  int64: "bigint",
  uint64: "bigint",
  timestamp: "Date",
} as const;

function wrapUnion(f: GeneratedFile, type: TypeRef): Printable[] {
  // A list of enum values is a list of a union type: (A | B)[] needs no parentheses
  // because enums are printed by name, so only callbacks (function types) would.
  return tsType(f, type);
}
