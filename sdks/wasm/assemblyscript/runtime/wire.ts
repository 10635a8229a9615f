// The hand-written half of Ottavo's AssemblyScript guest SDK: protobuf's wire format
// for the generated messages. Zero values are not written (proto3). AssemblyScript
// has no exceptions, so a malformed input sets Wire.failed instead of throwing.

export class Wire {
  /** Set by any Reader that met a truncated or mistyped field since the last reset. */
  static failed: bool = false;
}

export class Writer {
  buf: Uint8Array = new Uint8Array(64);
  len: i32 = 0;

  private ensure(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  varint(v: u64): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.len++] = <u8>(v | 0x80);
      v >>= 7;
    }
    this.buf[this.len++] = <u8>v;
  }

  tag(num: i32, wireType: i32): void {
    this.varint(<u64>((num << 3) | wireType));
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  bytesAlways(num: i32, b: Uint8Array): void {
    this.tag(num, 2);
    this.varint(<u64>b.length);
    this.raw(b);
  }

  stringAlways(num: i32, s: string): void {
    this.bytesAlways(num, Uint8Array.wrap(String.UTF8.encode(s)));
  }

  string(num: i32, s: string): void {
    if (s.length > 0) this.stringAlways(num, s);
  }

  bytes(num: i32, b: Uint8Array): void {
    if (b.length > 0) this.bytesAlways(num, b);
  }

  bool(num: i32, v: bool): void {
    if (v) {
      this.tag(num, 0);
      this.varint(1);
    }
  }

  int32(num: i32, v: i32): void {
    this.int64(num, <i64>v);
  }

  int64(num: i32, v: i64): void {
    if (v != 0) {
      this.tag(num, 0);
      this.varint(<u64>v);
    }
  }

  uint32(num: i32, v: u32): void {
    this.uint64(num, <u64>v);
  }

  uint64(num: i32, v: u64): void {
    if (v != 0) {
      this.tag(num, 0);
      this.varint(v);
    }
  }

  double(num: i32, v: f64): void {
    if (v != 0) {
      this.tag(num, 1);
      this.ensure(8);
      store<f64>(this.buf.dataStart + <usize>this.len, v);
      this.len += 8;
    }
  }

  float(num: i32, v: f32): void {
    if (v != 0) {
      this.tag(num, 5);
      this.ensure(4);
      store<f32>(this.buf.dataStart + <usize>this.len, v);
      this.len += 4;
    }
  }

  stringMap(num: i32, m: Map<string, string>): void {
    const keys = m.keys().sort();
    for (let i = 0; i < keys.length; i++) {
      const entry = new Writer();
      entry.stringAlways(1, keys[i]);
      entry.stringAlways(2, m.get(keys[i]));
      this.bytesAlways(num, entry.finish());
    }
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class Reader {
  pos: i32 = 0;
  /** The wire type of the field read last by tag(). */
  wireType: i32 = 0;

  constructor(public buf: Uint8Array) {}

  more(): bool {
    return !Wire.failed && this.pos < this.buf.length;
  }

  private fail(): void {
    Wire.failed = true;
    this.pos = this.buf.length;
  }

  varint(): u64 {
    let v: u64 = 0;
    for (let shift: u64 = 0; shift < 64; shift += 7) {
      if (this.pos >= this.buf.length) {
        this.fail();
        return 0;
      }
      const c = this.buf[this.pos++];
      v |= (<u64>(c & 0x7f)) << shift;
      if (c < 0x80) return v;
    }
    this.fail();
    return 0;
  }

  /** The next field's number; its wire type is left in wireType. */
  tag(): i32 {
    const v = this.varint();
    this.wireType = <i32>(v & 7);
    return <i32>(v >> 3);
  }

  bytes(): Uint8Array {
    if (this.wireType != 2) {
      this.fail();
      return new Uint8Array(0);
    }
    const n = this.varint();
    if (n > <u64>(this.buf.length - this.pos)) {
      this.fail();
      return new Uint8Array(0);
    }
    const out = this.buf.slice(this.pos, this.pos + <i32>n);
    this.pos += <i32>n;
    return out;
  }

  string(): string {
    const b = this.bytes();
    return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }

  private number(): u64 {
    if (this.wireType != 0) {
      this.fail();
      return 0;
    }
    return this.varint();
  }

  bool(): bool {
    return this.number() != 0;
  }

  int32(): i32 {
    return <i32>this.number();
  }

  int64(): i64 {
    return <i64>this.number();
  }

  uint32(): u32 {
    return <u32>this.number();
  }

  uint64(): u64 {
    return this.number();
  }

  double(): f64 {
    if (this.wireType != 1 || this.buf.length - this.pos < 8) {
      this.fail();
      return 0;
    }
    const v = load<f64>(this.buf.dataStart + <usize>this.pos);
    this.pos += 8;
    return v;
  }

  float(): f32 {
    if (this.wireType != 5 || this.buf.length - this.pos < 4) {
      this.fail();
      return 0;
    }
    const v = load<f32>(this.buf.dataStart + <usize>this.pos);
    this.pos += 4;
    return v;
  }

  /** One entry of a map<string, string>, into m. */
  stringMapEntry(m: Map<string, string>): void {
    const entry = new Reader(this.bytes());
    let k = "";
    let v = "";
    while (entry.more()) {
      const num = entry.tag();
      if (num == 1) k = entry.string();
      else if (num == 2) v = entry.string();
      else entry.skip();
    }
    m.set(k, v);
  }

  skip(): void {
    const wt = this.wireType;
    if (wt == 0) this.varint();
    else if (wt == 1) this.advance(8);
    else if (wt == 2) this.bytes();
    else if (wt == 5) this.advance(4);
    else this.fail();
  }

  private advance(n: i32): void {
    if (this.buf.length - this.pos < n) this.fail();
    else this.pos += n;
  }
}
