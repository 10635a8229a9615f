import { ScalarType, type DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { Rng } from "./random-messages";

/** One top-level field as it appears on the wire: its tag and the bytes after it. */
interface WireField {
  no: number;
  wireType: number;
  data: Uint8Array;
}

function splitFields(bytes: Uint8Array): WireField[] {
  const reader = new BinaryReader(bytes);
  const fields: WireField[] = [];
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    fields.push({ no, wireType, data: reader.skip(wireType, no) });
  }
  return fields;
}

function joinFields(fields: readonly WireField[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const f of fields) writer.tag(f.no, f.wireType).raw(f.data);
  return writer.finish();
}

function elementWireType(scalar: ScalarType): WireType {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

/** A packed repeated field written the other legal way: one tagged element at a time. */
function unpack(field: WireField, scalar: ScalarType): WireField[] {
  const reader = new BinaryReader(field.data);
  const end = reader.uint32() + reader.pos;
  const wireType = elementWireType(scalar);
  const out: WireField[] = [];
  while (reader.pos < end) out.push({ no: field.no, wireType, data: reader.skip(wireType, field.no) });
  return out;
}

/**
 * Other encodings of the same message that a decoder must accept: packed
 * repeated scalars unpacked, fields in another order, a field repeated (the last
 * scalar wins, messages merge, repeated fields append), unknown fields added,
 * groups among them. Only the top level is rewritten; nesting stays as written.
 */
export function wireVariants(rng: Rng, desc: DescMessage, bytes: Uint8Array): Uint8Array[] {
  const fields = splitFields(bytes);
  const packedScalar = (f: WireField): ScalarType | undefined => {
    const field = desc.fields.find((d) => d.number === f.no);
    if (!field || field.fieldKind !== "list" || f.wireType !== WireType.LengthDelimited) return undefined;
    if (field.listKind === "enum") return ScalarType.INT32;
    if (field.listKind !== "scalar" || field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES) return undefined;
    return field.scalar;
  };
  const unpacked = fields.flatMap((f) => {
    const scalar = packedScalar(f);
    return scalar === undefined ? [f] : unpack(f, scalar);
  });
  const reversed = [...fields].reverse();
  const duplicated = fields.length > 0 ? [...fields, fields[rng.int(fields.length)], ...fields] : fields;
  const withUnknown = [...fields, ...unknownFields(rng, desc)];
  return [unpacked, reversed, duplicated, withUnknown].map(joinFields);
}

function unknownFields(rng: Rng, desc: DescMessage): WireField[] {
  const used = new Set(desc.fields.map((f) => f.number));
  let no = 77;
  while (used.has(no)) no++;
  const group = new BinaryWriter();
  group.tag(1, WireType.Varint).uint32(rng.int(1000));
  group.tag(2, WireType.StartGroup).tag(3, WireType.Bit32).fixed32(7).tag(2, WireType.EndGroup);
  group.tag(no, WireType.EndGroup);
  const delimited = new BinaryWriter().bytes(new TextEncoder().encode("unknown")).finish();
  return [
    { no, wireType: WireType.Varint, data: new BinaryWriter().uint64(2n ** 63n).finish() },
    { no: no + 1, wireType: WireType.LengthDelimited, data: delimited },
    { no: no + 2, wireType: WireType.StartGroup, data: group.finish() },
    { no: no, wireType: WireType.Bit64, data: new BinaryWriter().fixed64(5n).finish() },
  ];
}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A random corruption of valid bytes, of the kinds a hostile or broken client sends. */
export function mutate(rng: Rng, bytes: Uint8Array, other: Uint8Array): Uint8Array {
  const b = bytes.slice();
  const at = () => rng.int(Math.max(b.length, 1));
  switch (rng.int(9)) {
    case 0: // flip a bit
      if (b.length > 0) b[at()] ^= 1 << rng.int(8);
      return b;
    case 1: // set a byte
      if (b.length > 0) b[at()] = rng.pick([0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08, 0x0b, 0x0c, 0x0f, rng.int(256)]);
      return b;
    case 2: // truncate
      return b.subarray(0, at());
    case 3: // drop a byte
      if (b.length === 0) return b;
      {
        const i = at();
        return concat(b.subarray(0, i), b.subarray(i + 1));
      }
    case 4: // insert a byte
      {
        const i = at();
        return concat(b.subarray(0, i), [rng.int(256)], b.subarray(i));
      }
    case 5: // a huge or overlong length or varint somewhere
      {
        const i = at();
        const junk = rng.pick([
          [0xff, 0xff, 0xff, 0xff, 0x0f],
          [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
          [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
          [0x80],
        ]);
        return concat(b.subarray(0, i), junk, b.subarray(i + 1));
      }
    case 6: // splice with another valid message
      return concat(b.subarray(0, at()), other.subarray(rng.int(Math.max(other.length, 1))));
    case 7: // random bytes
      return rng.bytes(rng.int(40));
    default: // several flips at once
      for (let k = 0; k < 4 && b.length > 0; k++) b[at()] = rng.int(256);
      return b;
  }
}

/**
 * A text form of a decoded value that two decoders agree on only if a handler
 * could not tell their results apart: property order, types (bigint, -0, NaN),
 * bytes and their array type, prototypes.
 */
export function canonical(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  switch (typeof value) {
    case "bigint":
      return `${value}n`;
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return String(value);
    case "object":
      break;
    default:
      return `?${typeof value}`;
  }
  if (value instanceof Uint8Array) return `${value.constructor.name}(${Buffer.from(value).toString("hex")})`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const proto = Object.getPrototypeOf(value) as unknown;
  const protoText = proto === Object.prototype ? "" : `proto=${canonical(proto)};`;
  const entries = Object.keys(value).map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
  return `{${protoText}${entries.join(",")}}`;
}
