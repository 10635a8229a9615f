import { protoInt64, type DescMessage, type MessageInitShape, type MessageShape, type UnknownField } from "@bufbuild/protobuf";

/**
 * The protobuf binary wire, for the specialized codecs `make gen` emits into
 * generated/codecs, which import it from here under the names index.ts exports.
 *
 * The codecs are a drop-in replacement for protobuf-es's reflection codec
 * (fromBinary, toBinary(create(...))), so the Reader follows protobuf-es 2.x's
 * BinaryReader step by step: what it accepts, what it rejects, the values it
 * reads, and the quirks a fuzzer finds (a map entry's unknown field numbers are
 * not skipped; a known field's wire type is not checked; a nested message may
 * overrun its declared length). Only two things differ, both without changing
 * what is accepted: a length that runs past the buffer throws at once instead
 * of after reading to the end, and short ASCII strings skip TextDecoder.
 */

/**
 * A specialized codec for one message type, a drop-in replacement for
 * protobuf-es's reflection codec; generated/codecs/index.ts has one per message.
 */
export interface Codec<Desc extends DescMessage = DescMessage> {
  readonly typeName: string;
  /** What protobuf-es fromBinary(schema, bytes) returns; throws an Error where it throws. */
  decode(bytes: Uint8Array): MessageShape<Desc>;
  /** The bytes of protobuf-es toBinary(schema, create(schema, init)). */
  encode(init: MessageInitShape<Desc>): Uint8Array;
  /** encode's bytes as one uncompressed gRPC message frame (flag byte, 4-byte length, the bytes), in one buffer. */
  encodeFramed?(init: MessageInitShape<Desc>): Uint8Array;
}

/** protobuf-es's default recursion limit for binary reads. */
export const recursionLimit = 100;

const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const laxDecoder = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** Below this many bytes, a string is checked for ASCII and, if it is, copied out without TextDecoder. */
const shortString = 256;
/** Up to this many bytes, an ASCII string is built character by character (V8 makes short concatenations flat). */
const tinyString = 8;

/**
 * Node's Buffer#latin1Slice, which is exact for ASCII and about three times
 * cheaper than a TextDecoder call on short strings (no intermediate garbage
 * either); outside Node, TextDecoder does all strings.
 */
const latin1Slice = (globalThis as { Buffer?: { prototype: { latin1Slice?: (this: Uint8Array, start: number, end: number) => string } } }).Buffer?.prototype.latin1Slice;

export class Reader {
  pos = 0;
  readonly len: number;
  private dataView: DataView | undefined;

  constructor(readonly buf: Uint8Array) {
    this.len = buf.length;
  }

  /** Throws when the last read went past the end (protobuf-es: "premature EOF"). */
  assertBounds(): void {
    if (this.pos > this.len) throw new RangeError("premature EOF");
  }

  /** The end of a length-delimited part starting here; throws when it runs past the buffer. */
  end(len: number): number {
    const end = this.pos + len;
    if (end > this.len) throw new RangeError("premature EOF");
    return end;
  }

  /** Checks a message's nesting depth as protobuf-es does on entering each message. */
  depth(depth: number, typeName: string): void {
    if (depth > recursionLimit) {
      throw new Error(`cannot decode message ${typeName} from binary: maximum recursion depth of ${recursionLimit} reached`);
    }
  }

  /** An unsigned 32-bit varint (up to 10 bytes, the excess ignored), as protobuf-es's varint32read. */
  uint32(): number {
    const buf = this.buf;
    let b = buf[this.pos++];
    let result = b & 0x7f;
    if ((b & 0x80) == 0) {
      this.assertBounds();
      return result;
    }
    b = buf[this.pos++];
    result |= (b & 0x7f) << 7;
    if ((b & 0x80) == 0) {
      this.assertBounds();
      return result;
    }
    b = buf[this.pos++];
    result |= (b & 0x7f) << 14;
    if ((b & 0x80) == 0) {
      this.assertBounds();
      return result;
    }
    b = buf[this.pos++];
    result |= (b & 0x7f) << 21;
    if ((b & 0x80) == 0) {
      this.assertBounds();
      return result;
    }
    b = buf[this.pos++];
    result |= (b & 0x0f) << 28;
    for (let readBytes = 5; (b & 0x80) !== 0 && readBytes < 10; readBytes++) b = buf[this.pos++];
    if ((b & 0x80) != 0) throw new Error("invalid varint");
    this.assertBounds();
    return result >>> 0;
  }

  /** A field tag, validated as protobuf-es does; the field number is tag >>> 3, the wire type tag & 7. */
  tag(): number {
    const start = this.pos;
    const tag = this.uint32();
    const bytesRead = this.pos - start;
    if (bytesRead > 5 || (bytesRead == 5 && this.buf[this.pos - 1] > 0x0f)) {
      throw new Error("illegal tag: varint overflows uint32");
    }
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo <= 0 || wireType > 5) throw new Error("illegal tag: field no " + fieldNo + " wire type " + wireType);
    return tag;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  sint32(): number {
    const zze = this.uint32();
    return (zze >>> 1) ^ -(zze & 1);
  }

  /** A 64-bit varint as [lo, hi], as protobuf-es's varint64read. */
  varint64(): [number, number] {
    const buf = this.buf;
    let lowBits = 0;
    let highBits = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const b = buf[this.pos++];
      lowBits |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        this.assertBounds();
        return [lowBits, highBits];
      }
    }
    const middleByte = buf[this.pos++];
    lowBits |= (middleByte & 0x0f) << 28;
    highBits = (middleByte & 0x70) >> 4;
    if ((middleByte & 0x80) == 0) {
      this.assertBounds();
      return [lowBits, highBits];
    }
    for (let shift = 3; shift <= 31; shift += 7) {
      const b = buf[this.pos++];
      highBits |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        this.assertBounds();
        return [lowBits, highBits];
      }
    }
    throw new Error("invalid varint");
  }

  bool(): boolean {
    const [lo, hi] = this.varint64();
    return lo !== 0 || hi !== 0;
  }

  int64(): bigint {
    const [lo, hi] = this.varint64();
    return protoInt64.dec(lo, hi);
  }

  uint64(): bigint {
    const [lo, hi] = this.varint64();
    return protoInt64.uDec(lo, hi);
  }

  /** An int64 as decimal text (jstype = JS_STRING); below 2^53 without a BigInt. */
  int64String(): string {
    const [lo, hi] = this.varint64();
    if (hi >= 0 && hi <= 0x1fffff) return String(hi * 4294967296 + (lo >>> 0));
    return protoInt64.dec(lo, hi).toString();
  }

  /** A uint64 as decimal text (jstype = JS_STRING); below 2^53 without a BigInt. */
  uint64String(): string {
    const [lo, hi] = this.varint64();
    if (hi >= 0 && hi <= 0x1fffff) return String(hi * 4294967296 + (lo >>> 0));
    return protoInt64.uDec(lo, hi).toString();
  }

  sint64(): bigint {
    let [lo, hi] = this.varint64();
    const s = -(lo & 1);
    lo = ((lo >>> 1) | ((hi & 1) << 31)) ^ s;
    hi = (hi >>> 1) ^ s;
    return protoInt64.dec(lo, hi);
  }

  fixed32(): number {
    return this.view().getUint32((this.pos += 4) - 4, true);
  }

  sfixed32(): number {
    return this.view().getInt32((this.pos += 4) - 4, true);
  }

  fixed64(): bigint {
    return protoInt64.uDec(this.sfixed32(), this.sfixed32());
  }

  sfixed64(): bigint {
    return protoInt64.dec(this.sfixed32(), this.sfixed32());
  }

  float(): number {
    return this.view().getFloat32((this.pos += 4) - 4, true);
  }

  double(): number {
    return this.view().getFloat64((this.pos += 8) - 8, true);
  }

  /** Length-delimited bytes: a view into the input, as protobuf-es returns. */
  bytes(): Uint8Array {
    const len = this.uint32();
    const start = this.pos;
    this.pos += len;
    this.assertBounds();
    return this.buf.subarray(start, start + len);
  }

  /** A length-delimited UTF-8 string; strict throws on invalid UTF-8 (proto3), lax substitutes U+FFFD. */
  string(strict: boolean): string {
    const len = this.uint32();
    const start = this.pos;
    this.pos += len;
    this.assertBounds();
    const buf = this.buf;
    if (len <= tinyString) {
      // A few bytes of ASCII: a string made here costs a fraction of a call into Node's binding (keys, ids).
      let text = "";
      for (let i = start; i < start + len; i++) {
        const b = buf[i];
        if (b >= 0x80) return (strict ? strictDecoder : laxDecoder).decode(buf.subarray(start, start + len));
        text += String.fromCharCode(b);
      }
      return text;
    }
    if (len < shortString && latin1Slice !== undefined) {
      let ascii = true;
      for (let i = start; i < start + len; i++) {
        if (buf[i] >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return latin1Slice.call(buf, start, start + len);
    }
    return (strict ? strictDecoder : laxDecoder).decode(buf.subarray(start, start + len));
  }

  /**
   * Skips an unknown field and records it as protobuf-es does; `depth` is the
   * depth of the message it belongs to (groups may nest only as deep as the
   * rest of the recursion limit).
   */
  unknown(tag: number, depth: number, fields: UnknownField[] | undefined): UnknownField[] {
    const no = tag >>> 3;
    const wireType = tag & 7;
    const data = this.skip(wireType, no, recursionLimit - depth);
    const list = fields ?? [];
    list.push({ no, wireType, data });
    return list;
  }

  /** protobuf-es's BinaryReader.skip, returning a view of the skipped bytes. */
  skip(wireType: number, fieldNo: number, limit: number): Uint8Array {
    const start = this.pos;
    switch (wireType) {
      case 0:
        while (this.buf[this.pos++] & 0x80) {
          // a varint's continuation bytes
        }
        break;
      case 1:
        this.pos += 8;
        break;
      case 5:
        this.pos += 4;
        break;
      case 2: {
        // read the length first: `this.pos += this.uint32()` would add it to the position before the varint
        const len = this.uint32();
        this.pos += len;
        break;
      }
      case 3:
        if (limit <= 0) throw new Error("maximum recursion depth reached");
        for (;;) {
          const tag = this.tag();
          const fn = tag >>> 3;
          const wt = tag & 7;
          if (wt === 4) {
            if (fn !== fieldNo) throw new Error("invalid end group tag");
            break;
          }
          this.skip(wt, fn, limit - 1);
        }
        break;
      default:
        throw new Error("cant skip wire type " + wireType);
    }
    this.assertBounds();
    return this.buf.subarray(start, this.pos);
  }

  private view(): DataView {
    return (this.dataView ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }
}

/**
 * One growable scratch buffer for every encode: a message is written into it
 * and copied out once, at its exact size. Encoding is synchronous, so the one
 * buffer is never shared by two calls.
 */
const initialSize = 8192;
/** A buffer grown past this by one big message is let go after it, not kept for the process. */
const keepAtMost = 1 << 20;

/** Node's Buffer, whose allocUnsafe hands out views of a pooled slab; absent outside Node. */
const pooled = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer;

export class Writer {
  buf = new Uint8Array(initialSize);
  pos = 0;
  private dataView = new DataView(this.buf.buffer);

  /** Starts a top-level message. */
  reset(): void {
    this.pos = 0;
  }

  /**
   * The bytes of the message written since reset(), as a new array: above 64
   * bytes a Buffer from Node's pool (a Uint8Array view into a shared slab, read
   * it through byteOffset), several times cheaper than a Uint8Array of its own.
   */
  finish(): Uint8Array {
    const n = this.pos;
    let out: Uint8Array;
    if (n > 64 && pooled !== undefined) {
      out = pooled.allocUnsafe(n);
      out.set(this.buf.subarray(0, n));
    } else out = this.buf.slice(0, n);
    if (this.buf.length > keepAtMost) this.resize(initialSize);
    return out;
  }

  /**
   * The bytes finish() answers, as one uncompressed gRPC message frame: a zero
   * flag byte and the 4-byte big-endian length before them, in one buffer (from
   * Node's pool when there is one), so a gRPC server sends it without a copy.
   */
  finishFramed(): Uint8Array {
    const n = this.pos;
    const out = pooled !== undefined ? pooled.allocUnsafe(n + 5) : new Uint8Array(n + 5);
    out[0] = 0;
    out[1] = n >>> 24;
    out[2] = (n >>> 16) & 0xff;
    out[3] = (n >>> 8) & 0xff;
    out[4] = n & 0xff;
    out.set(this.buf.subarray(0, n), 5);
    if (this.buf.length > keepAtMost) this.resize(initialSize);
    return out;
  }

  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      this.resize(size);
    }
  }

  private resize(size: number): void {
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, Math.min(this.pos, size)));
    this.buf = next;
    this.dataView = new DataView(next.buffer);
  }

  /** A precomputed tag of one byte. */
  tag1(b: number): void {
    if (this.pos + 1 > this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A precomputed tag of two bytes. */
  tag2(b0: number, b1: number): void {
    if (this.pos + 2 > this.buf.length) this.ensure(2);
    this.buf[this.pos++] = b0;
    this.buf[this.pos++] = b1;
  }

  /** A tag of any field number (unknown fields). */
  tag(no: number, wireType: number): void {
    this.uint32(((no << 3) | wireType) >>> 0);
  }

  /** An unsigned 32-bit varint; the value is already checked. */
  varint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    while (value > 0x7f) {
      buf[this.pos++] = (value & 0x7f) | 0x80;
      value = value >>> 7;
    }
    buf[this.pos++] = value;
  }

  uint32(value: number): void {
    this.varint32(uint32Of(value));
  }

  int32(value: number): void {
    value = int32Of(value);
    if (value >= 0) this.varint32(value);
    else {
      // a negative int32 is sign-extended to ten bytes
      this.ensure(10);
      const buf = this.buf;
      for (let i = 0; i < 9; i++) {
        buf[this.pos++] = (value & 127) | 128;
        value = value >> 7;
      }
      buf[this.pos++] = 1;
    }
  }

  sint32(value: number): void {
    value = int32Of(value);
    this.varint32(((value << 1) ^ (value >> 31)) >>> 0);
  }

  bool(value: boolean): void {
    this.tag1(value ? 1 : 0);
  }

  /** A 64-bit varint from two 32-bit halves, as protobuf-es's varint64write. */
  varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    for (let i = 0; i < 28; i = i + 7) {
      const shift = lo >>> i;
      const hasNext = !(shift >>> 7 == 0 && hi == 0);
      buf[this.pos++] = (hasNext ? shift | 0x80 : shift) & 0xff;
      if (!hasNext) return;
    }
    const splitBits = ((lo >>> 28) & 0x0f) | ((hi & 0x07) << 4);
    const hasMoreBits = !(hi >> 3 == 0);
    buf[this.pos++] = (hasMoreBits ? splitBits | 0x80 : splitBits) & 0xff;
    if (!hasMoreBits) return;
    for (let i = 3; i < 31; i = i + 7) {
      const shift = hi >>> i;
      const hasNext = !(shift >>> 7 == 0);
      buf[this.pos++] = (hasNext ? shift | 0x80 : shift) & 0xff;
      if (!hasNext) return;
    }
    buf[this.pos++] = (hi >>> 31) & 0x01;
  }

  int64(value: bigint | number | string): void {
    const n = safeInteger(value);
    if (n !== undefined) {
      // two's complement halves of a safe integer, without a BigInt
      this.varint64(n >>> 0, Math.floor(n / 4294967296));
      return;
    }
    const tc = protoInt64.enc(value);
    this.varint64(tc.lo, tc.hi);
  }

  uint64(value: bigint | number | string): void {
    const n = safeInteger(value);
    if (n !== undefined && n >= 0) {
      this.varint64(n >>> 0, Math.floor(n / 4294967296));
      return;
    }
    const tc = protoInt64.uEnc(value);
    this.varint64(tc.lo, tc.hi);
  }

  sint64(value: bigint | number | string): void {
    const tc = protoInt64.enc(value);
    const sign = tc.hi >> 31;
    this.varint64((tc.lo << 1) ^ sign, ((tc.hi << 1) | (tc.lo >>> 31)) ^ sign);
  }

  fixed32(value: number): void {
    this.bits32(uint32Of(value));
  }

  sfixed32(value: number): void {
    this.bits32(int32Of(value));
  }

  fixed64(value: bigint | number | string): void {
    this.bits64(protoInt64.uEnc(value));
  }

  sfixed64(value: bigint | number | string): void {
    this.bits64(protoInt64.enc(value));
  }

  /** Four bytes, little-endian: the same for a signed or an unsigned value of the same bits. */
  private bits32(value: number): void {
    this.ensure(4);
    this.dataView.setInt32(this.pos, value | 0, true);
    this.pos += 4;
  }

  private bits64(tc: { lo: number; hi: number }): void {
    this.ensure(8);
    this.dataView.setInt32(this.pos, tc.lo, true);
    this.dataView.setInt32(this.pos + 4, tc.hi, true);
    this.pos += 8;
  }

  float(value: number): void {
    value = float32Of(value);
    this.ensure(4);
    this.dataView.setFloat32(this.pos, value, true);
    this.pos += 4;
  }

  double(value: number): void {
    this.ensure(8);
    this.dataView.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /** Raw bytes, unprefixed (unknown fields). */
  raw(value: Uint8Array): void {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  bytes(value: Uint8Array): void {
    // create() turns an array of numbers into bytes
    if (Array.isArray(value)) value = new Uint8Array(value as number[]);
    this.varint32(value.byteLength);
    this.raw(value);
  }

  /** A UTF-8 string with its length; lone surrogates become U+FFFD, as TextEncoder writes them. */
  string(value: string): void {
    const n = value.length;
    if (n < 128) {
      // at most 3 bytes per UTF-16 unit: the length fits the 2 bytes reserved for it
      this.ensure(2 + 3 * n);
      const buf = this.buf;
      const start = this.pos;
      let p = start + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i < n) p += encoder.encodeInto(value.slice(i), buf.subarray(p)).written;
      const len = p - start - 1;
      if (len < 128) {
        buf[start] = len;
        this.pos = p;
      } else {
        buf.copyWithin(start + 2, start + 1, p);
        buf[start] = (len & 0x7f) | 0x80;
        buf[start + 1] = len >>> 7;
        this.pos = p + 1;
      }
      return;
    }
    const encoded = encoder.encode(value);
    this.varint32(encoded.length);
    this.raw(encoded);
  }

  /** Starts a length-delimited part (a message, a map entry, a packed list); returns what end() takes. */
  fork(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the part begun at `start`, writing its length in front of it. */
  join(start: number): void {
    const len = this.pos - start - 1;
    if (len < 128) {
      this.buf[start] = len;
      return;
    }
    let size = 1;
    for (let v = len >>> 7; v > 0; v >>>= 7) size++;
    this.ensure(size - 1);
    const buf = this.buf;
    buf.copyWithin(start + size, start + 1, this.pos);
    this.pos += size - 1;
    let v = len;
    let p = start;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p] = v;
  }

  /** A message's unknown fields, written back after its known ones as protobuf-es does. */
  unknown(fields: readonly UnknownField[] | undefined): void {
    if (fields === undefined) return;
    for (const { no, wireType, data } of fields) {
      this.tag(no, wireType);
      this.raw(data);
    }
  }
}

export const writer = new Writer();

/** A 64-bit value given as a safe integer or as its canonical decimal text, as a number; else undefined. */
function safeInteger(value: bigint | number | string): number | undefined {
  if (typeof value == "number") return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value == "string" && value.length <= 16) {
    const n = Number(value);
    if (Number.isSafeInteger(n) && String(n) === value) return n;
  }
  return undefined;
}

// protobuf-es's writer takes 32-bit values as numbers or as decimal text, and checks their range.

function int32Of(arg: unknown): number {
  const n = typeof arg == "string" ? Number(arg) : arg;
  if (typeof n != "number") throw new Error("invalid int32: " + typeof n);
  if (!Number.isInteger(n) || n > 0x7fffffff || n < -0x80000000) throw new Error("invalid int32: " + n);
  return n;
}

function uint32Of(arg: unknown): number {
  const n = typeof arg == "string" ? Number(arg) : arg;
  if (typeof n != "number") throw new Error("invalid uint32: " + typeof n);
  if (!Number.isInteger(n) || n > 0xffffffff || n < 0) throw new Error("invalid uint32: " + n);
  return n;
}

function float32Of(arg: unknown): number {
  let n = arg;
  if (typeof arg == "string") {
    n = Number(arg);
    if (Number.isNaN(n) && arg !== "NaN") throw new Error("invalid float32: " + arg);
  } else if (typeof arg != "number") throw new Error("invalid float32: " + typeof arg);
  const f = n as number;
  if (Number.isFinite(f) && (f > 3.4028234663852886e38 || f < -3.4028234663852886e38)) throw new Error("invalid float32: " + f);
  return f;
}

/**
 * The unknown fields to write back for a value given as a message: only a
 * message of this very type keeps them (create() copies the known fields of
 * anything else, as an init object).
 */
export function unknownOf(value: object, typeName: string): readonly UnknownField[] | undefined {
  const message = value as { $typeName?: unknown; $unknown?: UnknownField[] };
  return message.$typeName === typeName ? message.$unknown : undefined;
}

/** A map key of type bool as written: the object key "true" or "false", anything else by its truth. */
export function boolKey(key: string): boolean {
  return key === "true" ? true : key === "false" ? false : key !== "";
}

/** A map key of a 32-bit integer type as written: the object key read as an integer. */
export function intKey(key: string): number {
  const n = Number.parseInt(key);
  return Number.isFinite(n) ? n : Number(key);
}
