/**
 * The checked IDL model: every reference resolved to the object it names, so
 * code generator targets never look anything up by string. Lists keep
 * declaration order; capabilities and adapters are sorted for stable output.
 */
import type { DescEnum, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import type { GrpcStatusName } from "./grpc-status";

export type { GrpcStatusName } from "./grpc-status";

export interface Loc {
  file: string;
  line: number;
  column: number;
}

export interface IdlModel {
  /** Sorted by name. */
  capabilities: Capability[];
  /** Sorted by type, then capability name. */
  adapters: Adapter[];
  /** Sorted by name. */
  metadataGroups: MetadataGroup[];
  /** The shared errors any component may raise, declared once outside capabilities; sorted by name. */
  errors: ErrorDecl[];
}

export interface Capability {
  name: string;
  interfaceName: string;
  doc: string;
  loc: Loc;
  serves: ServedRpc[];
  operations: Operation[];
  features: Feature[];
  errors: ErrorDecl[];
  messages: MessageDecl[];
  enums: EnumDecl[];
  callbacks: CallbackDecl[];
  /**
   * Metadata every adapter of the capability accepts, applied by the runtime
   * (a key prefix): spliced at the end of each adapter's metadata. Includes spliced in.
   */
  metadata: MetadataField[];
  /** The capability's metadata block as declared (the same field objects as `metadata`). */
  metadataItems: MetadataItem[];
}

export interface ServedRpc {
  service: DescService;
  method: DescMethod;
  loc: Loc;
}

export interface Operation {
  name: string;
  doc: string;
  loc: Loc;
  params: Param[];
  /** Absent: the operation returns nothing. */
  returns?: TypeRef;
  /** Absent: a core operation every adapter implements. */
  unlockedBy?: Feature;
}

export interface Param {
  name: string;
  type: TypeRef;
  loc: Loc;
}

export interface Feature {
  name: string;
  doc: string;
  loc: Loc;
  unlocks: Operation[];
}

export interface ErrorDecl {
  name: string;
  doc: string;
  loc: Loc;
  status: GrpcStatusName;
}

export interface MessageDecl {
  name: string;
  doc: string;
  loc: Loc;
  fields: FieldDecl[];
  /** A union: exactly one of its fields is given (its TypeScript type is a union of one-field shapes). */
  union: boolean;
}

export interface FieldDecl {
  name: string;
  doc: string;
  loc: Loc;
  type: TypeRef;
  optional: boolean;
  /** Inclusive bounds of an int32, uint32 or double field. */
  min?: number;
  max?: number;
  /** A regular expression (JavaScript, unicode mode) a string field must match. */
  pattern?: string;
}

export interface EnumValueDecl {
  name: string;
  doc: string;
  loc: Loc;
}

export interface EnumDecl {
  name: string;
  doc: string;
  loc: Loc;
  values: EnumValueDecl[];
}

export interface CallbackDecl {
  name: string;
  doc: string;
  loc: Loc;
  params: Param[];
  returns?: TypeRef;
}

export const SCALAR_NAMES = ["string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "timestamp"] as const;
export type ScalarName = (typeof SCALAR_NAMES)[number];

export type TypeRef =
  | { kind: "scalar"; name: ScalarName }
  | { kind: "list"; element: TypeRef }
  | { kind: "map"; key: TypeRef; value: TypeRef }
  | { kind: "stream"; element: TypeRef }
  | { kind: "message"; decl: MessageDecl }
  | { kind: "enum"; decl: EnumDecl }
  | { kind: "callback"; decl: CallbackDecl }
  | { kind: "protoMessage"; desc: DescMessage }
  | { kind: "protoEnum"; desc: DescEnum }
  | { kind: "subscription" };

export interface Adapter {
  type: string;
  capability: Capability;
  /** The optional features this adapter supports, in the order it lists them. */
  features: Feature[];
  /** Includes already spliced in, in order. */
  metadata: MetadataField[];
  /** The metadata block as declared: includes and own fields, in order (the same field objects as `metadata`). */
  metadataItems: MetadataItem[];
  doc: string;
  loc: Loc;
}

/** A named, reusable set of metadata fields (`metadata Name { ... }`) that adapters and other groups include. */
export interface MetadataGroup {
  name: string;
  doc: string;
  loc: Loc;
  /** Includes already spliced in, in order. */
  fields: MetadataField[];
  /** As declared: includes and own fields, in order (the same field objects as `fields`). */
  items: MetadataItem[];
}

/** One entry of a metadata block or group, as declared. */
export type MetadataItem = { kind: "include"; group: MetadataGroup } | { kind: "field"; field: MetadataField };

export const METADATA_TYPE_NAMES = ["string", "bool", "int", "number", "duration"] as const;
export type MetadataTypeName = (typeof METADATA_TYPE_NAMES)[number];

export interface MetadataField {
  name: string;
  type: MetadataTypeName;
  /** A duration default stays the string written in the spec, e.g. "5s". */
  default?: string | number | boolean;
  required: boolean;
  sensitive: boolean;
  aliases: string[];
  /** Inclusive bounds (durations in milliseconds). */
  min?: number;
  max?: number;
  /** Inclusive bounds by another field of the same metadata (same type), when both are present. */
  minField?: string;
  maxField?: string;
  /** The only values a string field may take; its TypeScript type is their union. */
  oneOf?: string[];
  /** Fields that may not be given together with this one. */
  excludes: string[];
  /** A regular expression (JavaScript, unicode mode) a string value must match. */
  pattern?: string;
  /** Old keys of this field: accepted with a warning, read as this field, absent from its type. */
  deprecated: string[];
  /** Required, and not blank, when another field of the same metadata has this value. */
  requiredWhen?: { field: string; value: string | number | boolean };
  doc: string;
  /** Where the field is declared (inside its metadata group when included). */
  loc: Loc;
}
