import { fromBinary } from "@bufbuild/protobuf";
import * as pb from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { buildWatGuest } from "@ottavo/test-support";
import { GuestMemory } from "../../src/wasm/guest-memory";
import { buildTimeoutMs, startTestRuntime, type TestRuntime } from "./wasm-support";

/**
 * The host's view of a guest's memory is kept between host calls (asking the memory
 * for its buffer costs more than a host call's own checks) and made again when the
 * guest grows its memory: these check that no read or write misses a grown memory,
 * and that nothing outside it is ever reached.
 */

const page = 65536;

describe("GuestMemory", () => {
  it("reaches pages the guest added after the views were made, and nothing past the end", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const mem = new GuestMemory(memory);
    expect(mem.contains(page - 4, 4)).toBe(true);
    expect(mem.contains(page - 4, 5)).toBe(false);
    expect(mem.writeU32(page, 7)).toBe(false);
    memory.grow(1);
    expect(mem.byteLength).toBe(2 * page);
    expect(mem.contains(page, page)).toBe(true);
    expect(mem.contains(page, page + 1)).toBe(false);
    expect(mem.writeU32(page, 0xdeadbeef)).toBe(true);
    expect(mem.write(page + 8, Uint8Array.of(1, 2, 3))).toBe(true);
    // The writes landed in the memory the guest sees now, not in a detached copy.
    const now = new DataView(memory.buffer);
    expect(now.getUint32(page, true)).toBe(0xdeadbeef);
    expect([...new Uint8Array(memory.buffer, page + 8, 3)]).toEqual([1, 2, 3]);
    expect(mem.readU32(page)).toBe(0xdeadbeef);
    expect(mem.read(page + 8, 3)).toEqual(Uint8Array.of(1, 2, 3));
    expect(mem.bytes().length).toBe(2 * page);
    // A grow after bytes() was taken: bytes() answers the new size.
    memory.grow(1);
    expect(mem.bytes().length).toBe(3 * page);
    expect(mem.writable(3 * page - 4, 0)).toBe(true);
    expect(mem.writable(3 * page - 3, 0)).toBe(false);
  });

  it("reaches the new pages of a shared memory, whose buffer is not detached when it grows", () => {
    // `shared` is missing from the descriptor type this project declares (webassembly-api.ts).
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true } as { initial: number; maximum: number });
    const mem = new GuestMemory(memory);
    expect(mem.contains(0, page)).toBe(true);
    memory.grow(2);
    expect(mem.contains(2 * page, page)).toBe(true);
    expect(mem.contains(2 * page, page + 1)).toBe(false);
    expect(mem.writeU32(3 * page - 4, 42)).toBe(true);
    expect(new DataView(memory.buffer).getUint32(3 * page - 4, true)).toBe(42);
  });
});

/**
 * A guest whose allocator grows the memory by a page for every allocation and hands out
 * the new page: each host call's answer is written into memory that did not exist when
 * the call began. ottavo_handle calls get_state twice (key "k" of state_demo) and answers
 * the second answer's bytes (read through the pointer and length the host wrote) as an
 * InvokeResponse's data: the four bytes before the answer (the end of the page before)
 * take InvokeResponse{data: Any{value: ...}}'s tags and lengths (answers under 126 bytes).
 */
function grower(): string {
  const request = [0x0a, 10, ...Buffer.from("state_demo"), 0x12, 1, ...Buffer.from("k")];
  return `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (import "ottavo" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1 64)
  (data (i32.const 16) "${request.map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("")}")
  (func (export "ottavo_abi_version_1"))
  (func (export "ottavo_alloc") (param $size i32) (result i32)
    (i32.mul (memory.grow (i32.const 1)) (i32.const ${page})))
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (local $at i32)
    (local $len i32)
    (drop (call $get_state (i32.const 16) (i32.const ${request.length}) (i32.const 0) (i32.const 4)))
    (drop (call $get_state (i32.const 16) (i32.const ${request.length}) (i32.const 0) (i32.const 4)))
    (local.set $at (i32.sub (i32.load (i32.const 0)) (i32.const 4)))
    (local.set $len (i32.load (i32.const 4)))
    (i32.store8 (local.get $at) (i32.const 0x0a))
    (i32.store8 (i32.add (local.get $at) (i32.const 1)) (i32.add (local.get $len) (i32.const 2)))
    (i32.store8 (i32.add (local.get $at) (i32.const 2)) (i32.const 0x12))
    (i32.store8 (i32.add (local.get $at) (i32.const 3)) (local.get $len))
    (call $output (local.get $at) (i32.add (local.get $len) (i32.const 4)))
    (i32.const 0)))`;
}

describe("host calls into a memory that grows", () => {
  let rt: TestRuntime;

  beforeAll(async () => {
    const wasm = await buildWatGuest("guest-memory-grower", grower());
    rt = await startTestRuntime(
      `  functions:
    grower-inline: { path: ${wasm}, components: [state_demo], execution: inline }
    grower-worker: { path: ${wasm}, components: [state_demo], execution: worker }`,
    );
    await rt.client.saveState({ storeName: "state_demo", states: [{ key: "k", value: new TextEncoder().encode("grown") }] });
  }, buildTimeoutMs);

  afterAll(async () => {
    await rt?.stop();
  });

  it.each(["grower-inline", "grower-worker"])("%s: every answer lands in the newly grown page", async (id) => {
    for (let i = 0; i < 3; i++) {
      const answer = await rt.runtime.functionHost!.call(id, { method: "", verb: "POST", query: "", contentType: "", data: new Uint8Array(0), headers: [] });
      const response = fromBinary(pb.GetStateResponseSchema, answer.data);
      expect(new TextDecoder().decode(response.data)).toBe("grown");
    }
  });
});
