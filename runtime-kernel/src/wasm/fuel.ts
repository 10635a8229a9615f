import { createHash } from "node:crypto";
import { concat, leb, sleb } from "./wasm-bytes";

/**
 * Fuel metering for functions that run on the main thread (inline), where no thread
 * can be terminated: at load time the module is rewritten so that every function
 * entry and every loop header takes one unit from a fuel counter (a mutable i32
 * global added to the module), and when the counter runs out it calls a host import
 * (`ottavo_fuel.refuel`, added as the last function import) that checks the clock and
 * answers a new tank, or 0 past the invocation's deadline: the guest then executes
 * `unreachable` and traps (a trap, unlike an exception thrown from an import, no
 * guest can catch). A guest that never returns thus reaches the host at least once
 * per tank; a guest that returns costs a few instructions per loop iteration and call.
 *
 * The rewriter reads every instruction (the MVP, sign extension, saturating
 * truncation, bulk memory, reference types, tail calls, multi-value, SIMD, threads'
 * atomics, exceptions): adding an import shifts the module's own functions by one,
 * so calls, ref.func, exports, the start function and element segments are
 * renumbered. The name section is dropped (its indices would be stale). A module
 * that uses anything else (GC, typed function references) is refused with
 * FuelError; the caller then falls back to another CPU limit.
 */

/** The module and name of the import the instrumented module calls when its fuel runs out. */
export const fuelImport = { module: "ottavo_fuel", name: "refuel" } as const;

export class FuelError extends Error {}

const Section = { Custom: 0, Type: 1, Import: 2, Function: 3, Table: 4, Memory: 5, Global: 6, Export: 7, Start: 8, Element: 9, Code: 10, Data: 11, DataCount: 12, Tag: 13 } as const;

/** What was learned while instrumenting: the module's imports, by module and name. */
export interface Instrumented {
  readonly bytes: Uint8Array;
  readonly imports: readonly { readonly module: string; readonly name: string; readonly kind: number }[];
}

/** Metered modules of recent loads, by the original's SHA-256 and the tank: a re-install or reload of the same bytes is not rewritten again. */
const recentlyMetered = new Map<string, Instrumented>();
const recentLimit = 8;

/** addFuel, remembering the last few results (the least recently used dropped first); a refusal is not remembered. */
export function addFuelCached(bytes: Uint8Array, tank: number): Instrumented {
  const key = `${createHash("sha256").update(bytes).digest("hex")}/${tank}`;
  const known = recentlyMetered.get(key);
  if (known !== undefined) {
    recentlyMetered.delete(key);
    recentlyMetered.set(key, known);
    return known;
  }
  const metered = addFuel(bytes, tank);
  recentlyMetered.set(key, metered);
  if (recentlyMetered.size > recentLimit) recentlyMetered.delete(recentlyMetered.keys().next().value!);
  return metered;
}

/** The module with fuel metering added (see above); throws FuelError when it cannot be instrumented. */
export function addFuel(bytes: Uint8Array, tank: number): Instrumented {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d || bytes[4] !== 1) {
    throw new FuelError("not a WebAssembly 1.0 module");
  }
  const sections: { id: number; content: Uint8Array }[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const size = new Reader(bytes, at + 1);
    const length = size.u32();
    const start = size.at;
    if (start + length > bytes.length) throw new FuelError("the module is truncated");
    sections.push({ id, content: bytes.subarray(start, start + length) });
    at = start + length;
  }
  const find = (id: number) => sections.find((s) => s.id === id);

  // Types: append () -> i32 for refuel.
  const typeSection = find(Section.Type);
  const typeCount = typeSection === undefined ? 0 : new Reader(typeSection.content, 0).u32();
  const refuelType = typeCount;
  const newType = Uint8Array.of(0x60, 0x00, 0x01, 0x7f);
  const types = typeSection === undefined
    ? concat([leb(1), newType])
    : concat([leb(typeCount + 1), typeSection.content.subarray(new Reader(typeSection.content, 0).skipU32()), newType]);

  // Imports: count the imported functions and globals; append refuel as the last function import.
  const importSection = find(Section.Import);
  const imports: { module: string; name: string; kind: number }[] = [];
  let importedFunctions = 0;
  let importedGlobals = 0;
  if (importSection !== undefined) {
    const r = new Reader(importSection.content, 0);
    for (let n = r.u32(); n > 0; n--) {
      const module = r.name();
      const name = r.name();
      const kind = r.byte();
      imports.push({ module, name, kind });
      if (kind === 0) {
        r.u32();
        importedFunctions++;
      } else if (kind === 1) r.tableType();
      else if (kind === 2) r.limits();
      else if (kind === 3) {
        r.valType();
        r.byte();
        importedGlobals++;
      } else if (kind === 4) {
        r.byte();
        r.u32();
      } else throw new FuelError(`import kind ${kind} is not supported`);
    }
  }
  const refuelImport = concat([nameBytes(fuelImport.module), nameBytes(fuelImport.name), Uint8Array.of(0x00), leb(refuelType)]);
  const importContent = importSection === undefined
    ? concat([leb(1), refuelImport])
    : concat([leb(imports.length + 1), importSection.content.subarray(new Reader(importSection.content, 0).skipU32()), refuelImport]);
  const refuel = importedFunctions;
  const shift = (index: number) => (index >= importedFunctions ? index + 1 : index);

  // Globals: append the fuel counter, mutable i32, starting full.
  const globalSection = find(Section.Global);
  const definedGlobals = globalSection === undefined ? 0 : new Reader(globalSection.content, 0).u32();
  const fuel = importedGlobals + definedGlobals;
  const fuelGlobal = concat([Uint8Array.of(0x7f, 0x01, 0x41), sleb(tank), Uint8Array.of(0x0b)]);
  let globalContent: Uint8Array;
  if (globalSection === undefined) globalContent = concat([leb(1), fuelGlobal]);
  else {
    const r = new Reader(globalSection.content, 0);
    const out: Uint8Array[] = [leb(definedGlobals + 1)];
    for (let n = r.u32(); n > 0; n--) {
      const from = r.at;
      r.valType();
      r.byte();
      out.push(globalSection.content.subarray(from, r.at), constExpr(r, shift));
    }
    out.push(fuelGlobal);
    globalContent = concat(out);
  }

  // The check at a function's entry and a loop's header:
  //   fuel -= 1; if (fuel < 0) { fuel = refuel(); if (fuel == 0) unreachable }
  const check = concat([
    Uint8Array.of(0x23), leb(fuel), Uint8Array.of(0x41, 0x01, 0x6b, 0x24), leb(fuel),
    Uint8Array.of(0x23), leb(fuel), Uint8Array.of(0x41, 0x00, 0x48, 0x04, 0x40, 0x10), leb(refuel),
    Uint8Array.of(0x24), leb(fuel), Uint8Array.of(0x23), leb(fuel), Uint8Array.of(0x45, 0x04, 0x40, 0x00, 0x0b, 0x0b),
  ]);

  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  const emit = (id: number, content: Uint8Array) => out.push(Uint8Array.of(id), leb(content.length), content);
  let wroteTypes = false;
  let wroteImports = false;
  let wroteGlobals = false;
  // Sections in the order the spec requires; the added ones where they belong.
  const order = (id: number) => [0, 1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11].indexOf(id);
  const flushBefore = (id: number) => {
    if (!wroteTypes && order(id) > order(Section.Type)) {
      emit(Section.Type, types);
      wroteTypes = true;
    }
    if (!wroteImports && order(id) > order(Section.Import)) {
      emit(Section.Import, importContent);
      wroteImports = true;
    }
    if (!wroteGlobals && order(id) > order(Section.Global)) {
      emit(Section.Global, globalContent);
      wroteGlobals = true;
    }
  };
  for (const { id, content } of sections) {
    if (id === Section.Custom) {
      // The name section would name functions by their old indices.
      if (new Reader(content, 0).name() === "name") continue;
      out.push(Uint8Array.of(id), leb(content.length), content);
      continue;
    }
    flushBefore(id);
    switch (id) {
      case Section.Type:
        emit(id, types);
        wroteTypes = true;
        break;
      case Section.Import:
        emit(id, importContent);
        wroteImports = true;
        break;
      case Section.Global:
        emit(id, globalContent);
        wroteGlobals = true;
        break;
      case Section.Export:
        emit(id, exportsShifted(content, shift));
        break;
      case Section.Start:
        emit(id, leb(shift(new Reader(content, 0).u32())));
        break;
      case Section.Element:
        emit(id, elementsShifted(content, shift));
        break;
      case Section.Code:
        emit(id, codeInstrumented(content, shift, check));
        break;
      default:
        emit(id, content);
    }
  }
  if (!wroteTypes) emit(Section.Type, types);
  if (!wroteImports) emit(Section.Import, importContent);
  if (!wroteGlobals) emit(Section.Global, globalContent);
  return { bytes: concat(out), imports };
}

function exportsShifted(content: Uint8Array, shift: (i: number) => number): Uint8Array {
  const r = new Reader(content, 0);
  const count = r.u32();
  const out: Uint8Array[] = [leb(count)];
  for (let n = 0; n < count; n++) {
    const from = r.at;
    r.name();
    const kind = r.byte();
    out.push(content.subarray(from, r.at));
    const index = r.u32();
    out.push(leb(kind === 0 ? shift(index) : index));
  }
  return concat(out);
}

function elementsShifted(content: Uint8Array, shift: (i: number) => number): Uint8Array {
  const r = new Reader(content, 0);
  const count = r.u32();
  const out: Uint8Array[] = [leb(count)];
  for (let n = 0; n < count; n++) {
    const flags = r.u32();
    out.push(leb(flags));
    if (flags > 7) throw new FuelError(`element segment flags ${flags} are not supported`);
    const active = (flags & 1) === 0;
    const explicitTable = (flags & 2) !== 0;
    const expressions = (flags & 4) !== 0;
    if (active && explicitTable) out.push(leb(r.u32()));
    if (active) out.push(constExpr(r, shift));
    if (!active || explicitTable) {
      // elemkind (0x00, funcref) or a reference type
      const from = r.at;
      if (expressions) r.refType();
      else r.byte();
      out.push(content.subarray(from, r.at));
    }
    const items = r.u32();
    out.push(leb(items));
    for (let i = 0; i < items; i++) out.push(expressions ? constExpr(r, shift) : leb(shift(r.u32())));
  }
  return concat(out);
}

/** A constant expression up to its end, with ref.func renumbered. */
function constExpr(r: Reader, shift: (i: number) => number): Uint8Array {
  const out = new Writer(16);
  instructions(r, shift, out, undefined, true);
  return out.finish();
}

function codeInstrumented(content: Uint8Array, shift: (i: number) => number, check: Uint8Array): Uint8Array {
  const r = new Reader(content, 0);
  const count = r.u32();
  const out = new Writer(content.length + count * (check.length + 8));
  const body = new Writer(1024);
  out.u32(count);
  for (let n = 0; n < count; n++) {
    const size = r.u32();
    const end = r.at + size;
    const from = r.at;
    for (let groups = r.u32(); groups > 0; groups--) {
      r.u32();
      r.valType();
    }
    body.reset();
    body.bytes(content, from, r.at);
    body.bytes(check, 0, check.length);
    instructions(r, shift, body, check, false);
    if (r.at !== end) throw new FuelError("a function body does not end where its size says");
    out.u32(body.length);
    out.bytes(body.buf, 0, body.length);
  }
  return out.finish();
}

/**
 * Copies instructions to out up to the end of the body (or of a constant expression),
 * renumbering function indices and putting `check` after every loop header.
 */
function instructions(r: Reader, shift: (i: number) => number, out: Writer, check: Uint8Array | undefined, constant: boolean): void {
  let depth = 1;
  let copiedFrom = r.at;
  const flush = (until: number) => {
    if (until > copiedFrom) out.bytes(r.bytes, copiedFrom, until);
  };
  while (depth > 0) {
    const op = r.byte();
    switch (op) {
      case 0x02: // block
      case 0x04: // if
      case 0x06: // try
        r.blockType();
        depth++;
        break;
      case 0x03: {
        // loop: the check runs at the top of each iteration
        r.blockType();
        depth++;
        if (check !== undefined) {
          flush(r.at);
          out.bytes(check, 0, check.length);
          copiedFrom = r.at;
        }
        break;
      }
      case 0x1f: {
        // try_table
        r.blockType();
        for (let n = r.u32(); n > 0; n--) {
          const kind = r.byte();
          if (kind === 0x00 || kind === 0x01) r.u32();
          else if (kind !== 0x02 && kind !== 0x03) throw new FuelError(`try_table catch kind ${kind} is not supported`);
          r.u32();
        }
        depth++;
        break;
      }
      case 0x0b:
        depth--;
        break;
      case 0x10: // call
      case 0x12: // return_call
      case 0xd2: {
        // ref.func
        const from = r.at - 1;
        const index = r.u32();
        flush(from);
        out.byte(op);
        out.u32(shift(index));
        copiedFrom = r.at;
        break;
      }
      case 0x00: case 0x01: case 0x05: case 0x0a: case 0x0f: case 0x19: case 0x1a: case 0x1b: case 0xd1: case 0xd3: case 0xd5:
        break;
      case 0x07: case 0x08: case 0x09: case 0x0c: case 0x0d: case 0x14: case 0x15: case 0x18: case 0xd4: case 0xd6:
      case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0x3f: case 0x40:
        r.u32();
        break;
      case 0x0e: // br_table
        for (let n = r.u32(); n >= 0; n--) r.u32();
        break;
      case 0x11: // call_indirect
      case 0x13: // return_call_indirect
        r.u32();
        r.u32();
        break;
      case 0x1c: // select t*
        for (let n = r.u32(); n > 0; n--) r.valType();
        break;
      case 0x41:
        r.sleb();
        break;
      case 0x42:
        r.sleb();
        break;
      case 0x43:
        r.at += 4;
        break;
      case 0x44:
        r.at += 8;
        break;
      case 0xd0:
        r.heapType();
        break;
      case 0xfc:
        miscOp(r);
        break;
      case 0xfd:
        simdOp(r);
        break;
      case 0xfe:
        atomicOp(r);
        break;
      default:
        if (op >= 0x28 && op <= 0x3e) r.memarg();
        else if (op >= 0x45 && op <= 0xc4) break;
        else throw new FuelError(`instruction 0x${op.toString(16)} is not supported`);
    }
    if (constant && depth === 0) break;
  }
  flush(r.at);
}

function miscOp(r: Reader): void {
  const op = r.u32();
  if (op <= 7) return;
  switch (op) {
    case 8: // memory.init data mem
    case 12: // table.init elem table
    case 14: // table.copy
    case 10: // memory.copy
      r.u32();
      r.u32();
      return;
    case 9: case 11: case 13: case 15: case 16: case 17:
      r.u32();
      return;
    default:
      throw new FuelError(`instruction 0xfc ${op} is not supported`);
  }
}

function simdOp(r: Reader): void {
  const op = r.u32();
  if (op <= 11 || op === 92 || op === 93) r.memarg();
  else if (op === 12 || op === 13) r.at += 16;
  else if (op >= 21 && op <= 34) r.at += 1;
  else if (op >= 84 && op <= 91) {
    r.memarg();
    r.at += 1;
  } else if (op > 0x113) throw new FuelError(`instruction 0xfd ${op} is not supported`);
}

function atomicOp(r: Reader): void {
  const op = r.u32();
  if (op === 3) r.at += 1;
  else if (op <= 2 || (op >= 0x10 && op <= 0x4e)) r.memarg();
  else throw new FuelError(`instruction 0xfe ${op} is not supported`);
}

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
  ) {}

  byte(): number {
    if (this.at >= this.bytes.length) throw new FuelError("the module is truncated");
    return this.bytes[this.at++];
  }

  u32(): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
      if (shift > 28) throw new FuelError("the module is malformed (bad LEB128)");
    }
  }

  skipU32(): number {
    this.u32();
    return this.at;
  }

  sleb(): void {
    for (let n = 0; ; n++) {
      if (this.byte() < 0x80) return;
      if (n > 10) throw new FuelError("the module is malformed (bad LEB128)");
    }
  }

  name(): string {
    const length = this.u32();
    const text = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return text;
  }

  valType(): void {
    const t = this.byte();
    if (t === 0x63 || t === 0x64) this.heapType();
    else if (![0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69].includes(t)) throw new FuelError(`value type 0x${t.toString(16)} is not supported`);
  }

  refType(): void {
    this.valType();
  }

  heapType(): void {
    this.sleb();
  }

  blockType(): void {
    const t = this.bytes[this.at];
    if (t === 0x40 || [0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69].includes(t)) this.at++;
    else if (t === 0x63 || t === 0x64) {
      this.at++;
      this.heapType();
    } else this.sleb();
  }

  memarg(): void {
    const align = this.u32();
    if (align & 0x40) this.u32();
    this.u32();
  }

  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }

  tableType(): void {
    this.refType();
    this.limits();
  }
}

/** A growable byte buffer. */
class Writer {
  buf: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  reset(): void {
    this.length = 0;
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + extra));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  u32(value: number): void {
    this.ensure(5);
    do {
      let b = value & 0x7f;
      value = Math.floor(value / 128);
      if (value > 0) b |= 0x80;
      this.buf[this.length++] = b;
    } while (value > 0);
  }

  bytes(from: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 16) for (let i = 0; i < n; i++) this.buf[this.length + i] = from[start + i];
    else this.buf.set(from.subarray(start, end), this.length);
    this.length += n;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function nameBytes(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  return concat([leb(bytes.length), bytes]);
}
