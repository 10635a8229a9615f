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
