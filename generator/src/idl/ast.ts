/**
 * The syntax tree of one .cap file, exactly as written: names are strings with
 * their locations, nothing resolved. The checker turns it into the model.
 */
import type { Loc } from "./model";

export interface Name {
  text: string;
  loc: Loc;
}

export interface IdlFileAst {
  file: string;
  capabilities: CapabilityAst[];
  adapters: AdapterAst[];
  metadataGroups: MetadataGroupAst[];
  /** Shared errors (`error Name = STATUS` outside a capability): any component may raise them. */
  errors: ErrorAst[];
}

export type TypeAst =
  | { kind: "name"; name: string; loc: Loc }
  | { kind: "list"; element: TypeAst; loc: Loc }
  | { kind: "map"; key: TypeAst; value: TypeAst; loc: Loc }
  | { kind: "stream"; element: TypeAst; loc: Loc };

export interface ParamAst {
  name: Name;
  type: TypeAst;
}

export interface CapabilityAst {
  name: Name;
  interfaceName: Name;
  doc: string;
  serves: Name[];
  operations: OperationAst[];
  features: FeatureAst[];
  errors: ErrorAst[];
  messages: MessageAst[];
  enums: EnumAst[];
  callbacks: CallbackAst[];
  /** Each `metadata { }` block: metadata every adapter of the capability accepts (more than one is reported by the checker). */
  metadataBlocks: { loc: Loc; items: MetadataItemAst[] }[];
}

export interface OperationAst {
  name: Name;
  doc: string;
  params: ParamAst[];
  returns?: TypeAst;
}

export interface FeatureAst {
  name: Name;
  doc: string;
  unlocks: Name[];
}

export interface ErrorAst {
  name: Name;
  doc: string;
  status: Name;
}

export interface MessageAst {
  name: Name;
  doc: string;
  fields: FieldAst[];
  /** `union Name { ... }`: exactly one of the fields is given. */
  union: boolean;
}

export interface FieldAst {
  name: Name;
  doc: string;
  optional: boolean;
  type: TypeAst;
  /** `min <number>` / `max <number>`: inclusive bounds of a numeric field (each written once; repeats are reported by the checker). */
  min: LiteralAst[];
  max: LiteralAst[];
  /** `pattern "<regex>"`: a string field must match it. */
  pattern: LiteralAst[];
}

export interface EnumAst {
  name: Name;
  doc: string;
  values: { name: Name; doc: string }[];
}

export interface CallbackAst {
  name: Name;
  doc: string;
  params: ParamAst[];
  returns?: TypeAst;
}

export interface AdapterAst {
  /** The adapter type string, e.g. "in-memory"; its loc is the string's. */
  type: Name;
  capability: Name;
  doc: string;
  /** Each `features` clause; more than one is reported by the checker. */
  featureLists: { loc: Loc; names: Name[] }[];
  /** Each `metadata { }` block; more than one is reported by the checker. */
  metadataBlocks: { loc: Loc; items: MetadataItemAst[] }[];
}

export interface MetadataGroupAst {
  name: Name;
  doc: string;
  items: MetadataItemAst[];
}

export type MetadataItemAst = MetadataFieldAst | { kind: "include"; group: Name; loc: Loc };

export type LiteralAst =
  | { kind: "string"; value: string; loc: Loc }
  | { kind: "number"; value: number; raw: string; loc: Loc }
  | { kind: "bool"; value: boolean; loc: Loc };

export interface MetadataFieldAst {
  kind: "field";
  name: Name;
  doc: string;
  /** The type as written; the checker validates it. */
  type: Name;
  default?: LiteralAst;
  /** Locations of each `required` / `sensitive` written (repeats are reported by the checker). */
  required: Loc[];
  sensitive: Loc[];
  aliases: Name[];
  /**
   * `min <literal>` / `max <literal>`: inclusive bounds of a number, integer or
   * duration; `min <field>` / `max <field>` bound it by another field of the same block.
   */
  min: (LiteralAst | FieldRefAst)[];
  max: (LiteralAst | FieldRefAst)[];
  /** `oneOf "a", "b"`: the only values a string may take (components-contrib's allowedValues). */
  oneOf: LiteralAst[][];
  /** `excludes other`: the two may not both be given. */
  excludes: Name[];
  /** `pattern "<regex>"`: a string value must match it (a JavaScript regular expression, unicode mode). */
  pattern: LiteralAst[];
  /** `deprecated "<old key>"`: an old name of this field, accepted with a warning and read as this field. */
  deprecated: Name[];
  /** `requiredWhen <field> <literal>`: required (and not blank) when the other field has that value. */
  requiredWhen: { field: Name; value: LiteralAst; loc: Loc }[];
}

/** A bound that names another metadata field (`min redeliveryBackoff`). */
export interface FieldRefAst {
  kind: "field";
  name: Name;
  loc: Loc;
}
