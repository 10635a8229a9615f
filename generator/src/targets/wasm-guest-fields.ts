import { ScalarType, type DescField } from "@bufbuild/protobuf";
import { getComments } from "@bufbuild/protoplugin";
import { TargetError } from "./target";
import { camelCase, pascalCase } from "./ts-names";

/**
 * How one proto field crosses the wire, as both guest codecs (Go, AssemblyScript)
 * see it: the codec helper that writes and reads it, and its element shape.
 * Only the shapes the spec uses are supported; anything else stops generation
 * with the field's name rather than producing a codec that drops data.
 */
export type GuestField =
  | { readonly kind: "scalar"; readonly scalar: GuestScalar; readonly field: DescField }
  | { readonly kind: "enum"; readonly field: DescField }
  | { readonly kind: "message"; readonly field: DescField }
  | { readonly kind: "repeatedScalar"; readonly scalar: "string" | "bytes"; readonly field: DescField }
  | { readonly kind: "repeatedMessage"; readonly field: DescField }
  | { readonly kind: "stringMap"; readonly field: DescField }
  | { readonly kind: "messageMap"; readonly field: DescField };

export type GuestScalar = "string" | "bytes" | "bool" | "int32" | "int64" | "uint32" | "uint64" | "double" | "float";

const scalars: Partial<Record<ScalarType, GuestScalar>> = {
  [ScalarType.STRING]: "string",
  [ScalarType.BYTES]: "bytes",
  [ScalarType.BOOL]: "bool",
  [ScalarType.INT32]: "int32",
  [ScalarType.INT64]: "int64",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.DOUBLE]: "double",
  [ScalarType.FLOAT]: "float",
};

export function guestField(field: DescField): GuestField {
  const where = `${field.parent.typeName}.${field.name}`;
  const scalar = (t: ScalarType): GuestScalar => {
    const s = scalars[t];
    if (s === undefined) throw new TargetError("wasm", where, `scalar type ${ScalarType[t]} is not supported by the guest codecs`);
    return s;
  };
  switch (field.fieldKind) {
    case "scalar":
      return { kind: "scalar", scalar: scalar(field.scalar), field };
    case "enum":
      return { kind: "enum", field };
    case "message":
      return { kind: "message", field };
    case "list": {
      if (field.listKind === "message") return { kind: "repeatedMessage", field };
      const s = field.listKind === "scalar" ? scalar(field.scalar) : undefined;
      if (s === "string" || s === "bytes") return { kind: "repeatedScalar", scalar: s, field };
      throw new TargetError("wasm", where, "repeated numbers and enums (packed) are not supported by the guest codecs");
    }
    case "map":
      if (field.mapKind === "message") return { kind: "messageMap", field };
      if (field.mapKind === "scalar" && field.scalar === ScalarType.STRING) return { kind: "stringMap", field };
      throw new TargetError("wasm", where, "only map<string, string> and map<string, message> are supported by the guest codecs");
  }
}

/** A field's leading comment, one line per element. */
export function fieldDoc(field: DescField): string[] {
  const text = (getComments(field).leading ?? "").trim().replace(/^ /gm, "");
  return text.length > 0 ? text.split("\n") : [];
}

/** "store_name" or "storeName" -> "StoreName" (Go's exported field names). */
export const exportedName = pascalCase;

/** "store_name" -> "storeName"; names already camelCase stay. */
export const memberName = camelCase;
