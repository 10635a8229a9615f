// The WAT guests of the wasm benches (wasm-bench.ts, wasm-bridge-bench.ts).

/** GetStateRequest{store_name, key: "k"}: its bytes, and the same as WAT data. */
export function getStateRequest(store: string): { bytes: Uint8Array; wat: string } {
  const bytes = new Uint8Array([0x0a, store.length, ...new TextEncoder().encode(store), 0x12, 0x01, 0x6b]);
  return { bytes, wat: [...bytes].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("") };
}

export const loopGuest = (store: string, calls: number) => {
  const request = getStateRequest(store);
  return `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "${request.wat}")
  (global $next (mut i32) (i32.const 4096))
  (func (export "ottavo_abi_version_1"))
  (func (export "ottavo_alloc") (param $size i32) (result i32)
    ;; a ring over the second page: responses are read and dropped
    (if (i32.gt_u (i32.add (global.get $next) (local.get $size)) (i32.const 131072)) (then (global.set $next (i32.const 65536))))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (i32.sub (global.get $next) (local.get $size)))
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (local $i i32)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (i32.const ${calls})))
      (drop (call $get_state (i32.const 16) (i32.const ${request.bytes.length}) (i32.const 0) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (i32.const 0)))`;
};

/** A protobuf length prefix (varint). */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/**
 * The loop guest timing each get_state call itself (WASI clock_time_get, monotonic, before
 * and after): it answers InvokeResponse{data: {value: the durations as little-endian i64
 * nanoseconds}}, so a bench takes per-call medians, which one slow backend reply in
 * hundreds does not move (a mean over the loop does).
 */
export const timedLoopGuest = (store: string, calls: number) => {
  const request = getStateRequest(store);
  const durations = 8 * calls;
  const any = [0x12, ...varint(durations)];
  const prefix = [0x0a, ...varint(any.length + durations), ...any];
  const hex = (bytes: number[]) => bytes.map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
  const out = 65536;
  return `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (import "ottavo" "output" (func $output (param i32 i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 16) "${request.wat}")
  (data (i32.const ${out}) "${hex(prefix)}")
  (global $next (mut i32) (i32.const 131072))
  (func (export "ottavo_abi_version_1"))
  (func (export "ottavo_alloc") (param $size i32) (result i32)
    ;; a ring over the last two pages: responses are read and dropped
    (if (i32.gt_u (i32.add (global.get $next) (local.get $size)) (i32.const 262144)) (then (global.set $next (i32.const 131072))))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (i32.sub (global.get $next) (local.get $size)))
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (local $i i32)
    (local $t0 i64)
    (local $at i32)
    (local.set $at (i32.const ${out + prefix.length}))
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (i32.const ${calls})))
      (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 64)))
      (local.set $t0 (i64.load (i32.const 64)))
      (drop (call $get_state (i32.const 16) (i32.const ${request.bytes.length}) (i32.const 0) (i32.const 4)))
      (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 64)))
      (i64.store (local.get $at) (i64.sub (i64.load (i32.const 64)) (local.get $t0)))
      (local.set $at (i32.add (local.get $at) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (call $output (i32.const ${out}) (i32.const ${prefix.length + durations}))
    (i32.const 0)))`;
};
