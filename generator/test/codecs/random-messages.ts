import { create, ScalarType, type DescField, type DescMessage, type UnknownField } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";

/** A small seeded generator (mulberry32), so a failure names a seed that reproduces it. */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

const texts = ["", "a", "state_demo", "greeting-key-0001", "é", "漢字", "😀 emoji", "a\u0000b", "lone \ud800 surrogate", "x".repeat(127), "y".repeat(128), "é".repeat(70), "z".repeat(300)];

function randomString(rng: Rng): string {
  if (rng.chance(0.7)) return rng.pick(texts);
  let s = "";
  const n = rng.int(rng.chance(0.2) ? 400 : 20);
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.chance(0.8) ? 32 + rng.int(95) : rng.int(0xffff));
  return s;
}

const int64Edges = [0n, 1n, -1n, 127n, 128n, 300n, 2n ** 31n, -(2n ** 31n), 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
const uint64Edges = [0n, 1n, 127n, 128n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n];

function random64(rng: Rng, signed: boolean): bigint {
  if (rng.chance(0.6)) return rng.pick(signed ? int64Edges : uint64Edges);
  const v = (BigInt(rng.int(2 ** 32)) << 32n) | BigInt(rng.int(2 ** 32));
  return signed ? BigInt.asIntN(64, v) : v;
}

/** A random value of a scalar type, in the representation a handler would give. */
export function randomScalar(rng: Rng, type: ScalarType, longAsString: boolean): unknown {
  switch (type) {
    case ScalarType.STRING:
      return randomString(rng);
    case ScalarType.BYTES:
      return rng.bytes(rng.pick([0, 1, 5, 127, 128, 300]));
    case ScalarType.BOOL:
      return rng.chance(0.5);
    case ScalarType.DOUBLE:
      return rng.pick([0, -0, 1.5, -2.25, NaN, Infinity, -Infinity, Number.MAX_VALUE, 5e-324, (rng.next() - 0.5) * 1e12]);
    case ScalarType.FLOAT:
      return rng.pick([0, -0, 1.5, NaN, Infinity, Math.fround(3.4e38), Math.fround((rng.next() - 0.5) * 1e6)]);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return rng.pick([0, 1, -1, 127, 128, 2 ** 31 - 1, -(2 ** 31), rng.int(2 ** 32) - 2 ** 31]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return rng.pick([0, 1, 127, 128, 2 ** 32 - 1, rng.int(2 ** 32)]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64: {
      const v = random64(rng, true);
      return longAsString ? String(v) : v;
    }
    case ScalarType.UINT64:
    case ScalarType.FIXED64: {
      const v = random64(rng, false);
      return longAsString ? String(v) : v;
    }
  }
}

function randomEnum(rng: Rng, field: { enum: { values: readonly { number: number }[] } }): number {
  // open enums keep numbers they do not know
  return rng.chance(0.15) ? rng.pick([-1, 99, 2 ** 31 - 1]) : rng.pick(field.enum.values).number;
}

function randomMapKey(rng: Rng, type: ScalarType): string {
  switch (type) {
    case ScalarType.STRING:
      return randomString(rng);
    case ScalarType.BOOL:
      return String(rng.chance(0.5));
    default:
      return String(randomScalar(rng, type, true));
  }
}

/** Valid encodings of random unknown fields, at field numbers the message does not use. */
export function randomUnknown(rng: Rng, desc: DescMessage): UnknownField[] {
  const used = new Set(desc.fields.map((f) => f.number));
  const fields: UnknownField[] = [];
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    let no = rng.pick([50, 99, 1000, 20000, 536870911]);
    while (used.has(no)) no++;
    const w = new BinaryWriter();
    const wireType = rng.pick([0, 1, 2, 5]);
    if (wireType === 0) w.uint64(random64(rng, false));
    if (wireType === 1) w.fixed64(random64(rng, false));
    if (wireType === 2) w.bytes(rng.bytes(rng.int(20)));
    if (wireType === 5) w.fixed32(rng.int(2 ** 32));
    fields.push({ no, wireType, data: w.finish() });
  }
  return fields;
}

export interface RandomOptions {
  /** Maximum message nesting. */
  depth: number;
}

/**
 * A random init object for a message, as a handler could return it: fields left
 * out or set to zero, nested values as init objects or as created messages (some
 * carrying unknown fields), every field shape the message has.
 */
export function randomInit(rng: Rng, desc: DescMessage, opts: RandomOptions = { depth: 3 }): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const member of desc.members) {
    if (member.kind === "oneof") {
      if (rng.chance(0.6)) {
        const field = rng.pick(member.fields);
        const value = fieldValue(rng, field, opts);
        if (value !== undefined) init[member.localName] = { case: field.localName, value };
      }
      continue;
    }
    if (rng.chance(0.35)) continue;
    const value = fieldValue(rng, member, opts);
    if (value !== undefined) init[member.localName] = value;
  }
  return init;
}

function nestedMessage(rng: Rng, desc: DescMessage, opts: RandomOptions): unknown {
  const init = randomInit(rng, desc, { depth: opts.depth - 1 });
  if (rng.chance(0.5)) return init;
  const message = create(desc, init);
  if (rng.chance(0.4)) message.$unknown = randomUnknown(rng, desc);
  return message;
}

function fieldValue(rng: Rng, field: DescField, opts: RandomOptions): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return randomScalar(rng, field.scalar, field.longAsString);
    case "enum":
      return randomEnum(rng, field);
    case "message":
      return opts.depth > 0 ? nestedMessage(rng, field.message, opts) : undefined;
    case "list": {
      const n = rng.pick([0, 1, 2, 5]);
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) {
        if (field.listKind === "message") {
          if (opts.depth > 0) items.push(nestedMessage(rng, field.message, opts));
        } else if (field.listKind === "enum") items.push(randomEnum(rng, field));
        else items.push(randomScalar(rng, field.scalar, field.longAsString));
      }
      return items;
    }
    case "map": {
      const map: Record<string, unknown> = {};
      const n = rng.pick([0, 1, 3]);
      for (let i = 0; i < n; i++) {
        const key = randomMapKey(rng, field.mapKey);
        if (field.mapKind === "message") {
          if (opts.depth > 0) map[key] = nestedMessage(rng, field.message, opts);
        } else if (field.mapKind === "enum") map[key] = randomEnum(rng, field);
        else map[key] = randomScalar(rng, field.scalar, false);
      }
      return map;
    }
  }
}
