import { ScalarType, type DescEnum, type DescField, type DescFile, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence, FieldOptions_JSType } from "@bufbuild/protobuf/wkt";

/**
 * The parts of a proto API that a client on the wire (or a generated JS type) can
 * observe, flattened into plain data keyed by fully qualified name so two
 * compilations can be compared without caring which file declared what.
 */
export interface ApiShape {
  /** Package name -> the files that declare it, in file-name order. */
  readonly packages: ReadonlyMap<string, readonly string[]>;
  readonly services: ReadonlyMap<string, ServiceShape>;
  /** Messages and enums, nested ones included, in declaration order. */
  readonly types: ReadonlyMap<string, TypeShape>;
}

export interface ServiceShape {
  readonly typeName: string;
  readonly package: string;
  readonly methods: readonly MethodShape[];
}

export interface MethodShape {
  readonly name: string;
  readonly methodKind: DescMethod["methodKind"];
  /** Fully qualified request and response message names. */
  readonly input: string;
  readonly output: string;
}

export type TypeShape = MessageShape | EnumShape;

export interface MessageShape {
  readonly kind: "message";
  readonly typeName: string;
  readonly package: string;
  /** The enclosing message, for nested declarations. */
  readonly parent: string | undefined;
  readonly fields: readonly FieldShape[];
}

export interface EnumShape {
  readonly kind: "enum";
  readonly typeName: string;
  readonly package: string;
  readonly parent: string | undefined;
  readonly values: readonly { readonly name: string; readonly number: number }[];
}

/** A scalar by its proto keyword (`int64`), or an enum or message by its fully qualified name. */
export type ValueShape =
  | { readonly kind: "scalar"; readonly scalar: string }
  | { readonly kind: "enum" | "message"; readonly typeName: string };

/**
 * How many values a field holds and whether absence is observable: `singular`
 * (proto3 implicit presence, and message fields), `optional` (explicit presence),
 * `required` (proto2), `repeated`, `map`, or membership of a real oneof.
 */
export type FieldLabel =
  | { readonly kind: "singular" | "optional" | "required" | "repeated" }
  | { readonly kind: "map"; readonly key: string }
  | { readonly kind: "oneof"; readonly oneof: string };

export interface FieldShape {
  readonly number: number;
  readonly name: string;
  readonly jsonName: string;
  readonly label: FieldLabel;
  readonly value: ValueShape;
  /** JS_STRING / JS_NUMBER; absent for the default (JS_NORMAL), which changes nothing. */
  readonly jstype: string | undefined;
  /** Editions' delimited (group) encoding of a message field: a different wire format. */
  readonly delimited: boolean;
}

/** Flattens compiled files (google/protobuf imports excluded by the caller) into an ApiShape. */
export function shapeOf(files: readonly DescFile[]): ApiShape {
  const packages = new Map<string, string[]>();
  const services = new Map<string, ServiceShape>();
  const types = new Map<string, TypeShape>();
  for (const file of [...files].sort((a, b) => compareText(a.proto.name, b.proto.name))) {
    const pkg = file.proto.package;
    const names = packages.get(pkg) ?? [];
    names.push(file.proto.name);
    packages.set(pkg, names);
    for (const service of file.services) {
      services.set(service.typeName, {
        typeName: service.typeName,
        package: pkg,
        methods: service.methods.map((m) => ({
          name: m.name,
          methodKind: m.methodKind,
          input: m.input.typeName,
          output: m.output.typeName,
        })),
      });
    }
    for (const message of file.messages) addMessage(message, pkg, types);
    for (const desc of file.enums) addEnum(desc, pkg, types);
  }
  return { packages, services, types };
}

function addMessage(message: DescMessage, pkg: string, types: Map<string, TypeShape>): void {
  types.set(message.typeName, {
    kind: "message",
    typeName: message.typeName,
    package: pkg,
    parent: message.parent?.typeName,
    fields: message.fields.map(fieldShape),
  });
  for (const nested of message.nestedMessages) addMessage(nested, pkg, types);
  for (const nested of message.nestedEnums) addEnum(nested, pkg, types);
}

function addEnum(desc: DescEnum, pkg: string, types: Map<string, TypeShape>): void {
  types.set(desc.typeName, {
    kind: "enum",
    typeName: desc.typeName,
    package: pkg,
    parent: desc.parent?.typeName,
    values: desc.values.map((v) => ({ name: v.name, number: v.number })),
  });
}

function fieldShape(field: DescField): FieldShape {
  const jstype = field.proto.options?.jstype ?? FieldOptions_JSType.JS_NORMAL;
  return {
    number: field.number,
    name: field.name,
    jsonName: field.jsonName,
    label: labelOf(field),
    value: valueOf(field),
    jstype: jstype === FieldOptions_JSType.JS_NORMAL ? undefined : FieldOptions_JSType[jstype],
    delimited: "delimitedEncoding" in field && field.delimitedEncoding === true,
  };
}

function labelOf(field: DescField): FieldLabel {
  switch (field.fieldKind) {
    case "map":
      return { kind: "map", key: scalarKeyword(field.mapKey) };
    case "list":
      return { kind: "repeated" };
    default:
      // Synthetic oneofs of proto3 `optional` are not in `field.oneof`; presence covers them.
      if (field.oneof !== undefined) return { kind: "oneof", oneof: field.oneof.name };
      if (field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED) return { kind: "required" };
      if (field.fieldKind !== "message" && field.presence === FeatureSet_FieldPresence.EXPLICIT) {
        return { kind: "optional" };
      }
      return { kind: "singular" };
  }
}

function valueOf(field: DescField): ValueShape {
  if (field.message !== undefined) return { kind: "message", typeName: field.message.typeName };
  if (field.enum !== undefined) return { kind: "enum", typeName: field.enum.typeName };
  return { kind: "scalar", scalar: scalarKeyword(field.scalar) };
}

/** `ScalarType.SFIXED64` -> `sfixed64`, the keyword a .proto file uses. */
function scalarKeyword(scalar: ScalarType): string {
  return ScalarType[scalar].toLowerCase();
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
