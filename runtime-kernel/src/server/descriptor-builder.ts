import { create, createFileRegistry, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * A small builder for the descriptors of gRPC's own standard services (health,
 * reflection), which Ottavo serves beside its spec. Their wire shape is fixed by
 * gRPC; describing them here keeps them out of spec/ (they are not Ottavo's API)
 * while giving Connect-ES and reflection real descriptors to work with.
 */
interface FieldInit {
  name: string;
  number: number;
  type: FieldDescriptorProto_Type;
  label?: FieldDescriptorProto_Label;
  typeName?: string;
  oneofIndex?: number;
  jsonName?: string;
}

export const scalar = {
  string: FieldDescriptorProto_Type.STRING,
  bytes: FieldDescriptorProto_Type.BYTES,
  int32: FieldDescriptorProto_Type.INT32,
} as const;

/** A singular field; `typeName` (".pkg.Message") for messages and enums. */
export function field(name: string, number: number, type: FieldDescriptorProto_Type, extra: Partial<FieldInit> = {}): FieldInit {
  return { name, number, type, label: FieldDescriptorProto_Label.OPTIONAL, jsonName: jsonName(name), ...extra };
}

export function messageField(name: string, number: number, typeName: string, extra: Partial<FieldInit> = {}): FieldInit {
  return field(name, number, FieldDescriptorProto_Type.MESSAGE, { typeName, ...extra });
}

export function repeated(init: FieldInit): FieldInit {
  return { ...init, label: FieldDescriptorProto_Label.REPEATED };
}

export function message(
  name: string,
  fields: readonly FieldInit[],
  more: { oneofs?: readonly string[]; nested?: readonly DescriptorInit[]; enums?: readonly EnumInit[]; mapEntry?: boolean } = {},
): DescriptorInit {
  return {
    name,
    field: [...fields],
    oneofDecl: (more.oneofs ?? []).map((oneof) => ({ name: oneof })),
    nestedType: [...(more.nested ?? [])],
    enumType: [...(more.enums ?? [])],
    ...(more.mapEntry ? { options: { mapEntry: true } } : {}),
  };
}

export function enumOf(name: string, values: readonly string[]): EnumInit {
  return { name, value: values.map((value, number) => ({ name: value, number })) };
}

export function rpc(name: string, inputType: string, outputType: string, streaming: { client?: boolean; server?: boolean } = {}): MethodInit {
  return { name, inputType, outputType, clientStreaming: streaming.client ?? false, serverStreaming: streaming.server ?? false };
}

interface DescriptorInit {
  name: string;
  field: FieldInit[];
  oneofDecl: { name: string }[];
  nestedType: DescriptorInit[];
  enumType: EnumInit[];
  options?: { mapEntry: boolean };
}
interface EnumInit {
  name: string;
  value: { name: string; number: number }[];
}
interface MethodInit {
  name: string;
  inputType: string;
  outputType: string;
  clientStreaming: boolean;
  serverStreaming: boolean;
}

export interface FileInit {
  readonly name: string;
  readonly package: string;
  readonly messages: readonly DescriptorInit[];
  readonly enums?: readonly EnumInit[];
  readonly services: readonly { name: string; method: MethodInit[] }[];
}

/** A proto3 file with no imports, as a registry Connect-ES and reflection can use. */
export function fileRegistry(init: FileInit): FileRegistry {
  const proto = create(FileDescriptorProtoSchema, {
    name: init.name,
    package: init.package,
    syntax: "proto3",
    messageType: [...init.messages],
    enumType: [...(init.enums ?? [])],
    service: [...init.services],
  });
  return createFileRegistry(proto, () => undefined);
}

/** The named service of a registry; a typo in the descriptors above fails at start, loudly. */
export function serviceOf(registry: FileRegistry, typeName: string): DescService {
  const service = registry.getService(typeName);
  if (service === undefined) throw new Error(`descriptor of ${typeName} is missing`);
  return service;
}

/** protoc's json_name: lower camel case of the field name. */
function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
