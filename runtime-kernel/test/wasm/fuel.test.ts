import { readFileSync } from "node:fs";
import { buildWatGuest } from "@ottavo/test-support";
import { addFuel, addFuelCached, fuelImport, FuelError } from "../../src/wasm/fuel";

/**
 * Fuel metering (wasm/fuel.ts): the rewritten module computes what the original
 * does, with every function index it names renumbered past the added import, and a
 * guest that never returns reaches the refuel import and traps when it answers 0.
 */

/** Imports a host function before its own, calls through call, call_indirect (an element segment), ref.func, a start function and an exported function. */
const busy = `(module
  (import "host" "add" (func $add (param i32 i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $double $square)
  (global $started (mut i32) (i32.const 0))
  (global $ref (mut funcref) (ref.func $square))
  (func $start (global.set $started (i32.const 7)))
  (start $start)
  (func $double (type $unary) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (type $unary) (i32.mul (local.get 0) (local.get 0)))
  (func (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (call $add (local.get $acc) (call_indirect (type $unary) (local.get $i) (i32.rem_u (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (i32.add (local.get $acc) (global.get $started)))
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "started") (result i32) (global.get $started))
  (export "double" (func $double)))`;

let original: Uint8Array;

beforeAll(async () => {
  original = readFileSync(await buildWatGuest("fuel-busy", busy));
});

function instantiate(bytes: Uint8Array, refuel?: () => number) {
  const imports: WebAssembly.Imports = { host: { add: (a: number, b: number) => a + b } };
  if (refuel !== undefined) imports[fuelImport.module] = { [fuelImport.name]: refuel };
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports as Record<string, (...args: number[]) => number>;
}

it("the metered module computes what the original does, through every kind of function reference", () => {
  const plain = instantiate(original);
  let refuels = 0;
  const metered = instantiate(addFuel(original, 50).bytes, () => (refuels++, 50));
  for (const n of [0, 1, 10, 1000]) expect(metered.sum(n)).toBe(plain.sum(n));
  expect(metered.double(21)).toBe(42);
  expect(metered.started()).toBe(7);
  expect(WebAssembly.Module.exports(new WebAssembly.Module(addFuel(original, 50).bytes))).toEqual(WebAssembly.Module.exports(new WebAssembly.Module(original)));
  // 1000 iterations on a tank of 50: the host was asked for fuel, about once per tank.
  expect(refuels).toBeGreaterThanOrEqual(1000 / 50);
});

it("a loop that never ends traps (unreachable) once refuel answers 0, and only then", () => {
  let left = 3;
  const metered = instantiate(addFuel(original, 1000).bytes, () => (left-- > 0 ? 1000 : 0));
  expect(() => metered.spin()).toThrow(/unreachable/);
  expect(left).toBe(-1);
});

it("reports the module's imports and refuses what it cannot read", () => {
  expect(addFuel(original, 10).imports).toEqual([{ module: "host", name: "add", kind: 0 }]);
  expect(() => addFuel(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 4, 1, 2, 0, 0xfb), 10)).toThrow(FuelError);
  expect(() => addFuel(new TextEncoder().encode("not wasm"), 10)).toThrow(FuelError);
});

it("remembers the metered form of recent bytes (a re-install is not rewritten again), per tank", () => {
  const first = addFuelCached(original, 64);
  expect(addFuelCached(Uint8Array.from(original), 64)).toBe(first);
  expect(addFuelCached(original, 65)).not.toBe(first);
  expect(first.bytes).toEqual(addFuel(original, 64).bytes);
});
