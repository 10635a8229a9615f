import { appendFileSync, copyFileSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { ServerResponse } from "node:http";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as pb from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { buildAssemblyScriptGuest, buildGoGuest, buildWatGuest, eventually, startRedis, type RedisServer } from "@ottavo/test-support";
import { demoConfig, startHttpBackend, type HttpBackend } from "../e2e/support";
import { buildTimeoutMs, guestSources, loadFunction, startTestRuntime, type TestRuntime, watAbiExports } from "./wasm-support";

/**
 * Functions whose host calls wait (Redis, an HTTP binding, another function) running on
 * the main thread, rewritten by asyncify: the guest suspends in the host call and
 * resumes with its answer. Its memory and locals are intact afterwards; limits answer
 * as in a worker (CPU limit by fuel, wait time not counted, traps, pointers, buffer
 * cap, memory cap) plus an unwind too deep for its data buffer; several instances
 * suspend at once while the runtime serves others; a reload under load fails no call;
 * Layotto's proxy-wasm calls suspend too. The ABI's every import on this path is
 * abi.test.ts (its AssemblyScript tour runs so).
 */

const hex = (bytes: Uint8Array | number[]) => [...bytes].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");

/** GetStateRequest{state_demo, book1}. */
const getBook = toBinary(pb.GetStateRequestSchema, create(pb.GetStateRequestSchema, { storeName: "state_demo", key: "book1" }));

/**
 * Fills its first 4 KiB (where the host lends asyncify its data buffer) with a pattern,
 * then makes 20 get_state calls on Redis, checking after each that the pattern, its
 * locals (i32, i64, f64, changed every round) and the answer are as they should be:
 * FAILED_PRECONDITION (9) when the memory changed, ABORTED (10) when a local did.
 */
const keeper = `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 20000) "${hex(getBook)}")
  ${watAbiExports}
  (func $fill (local $a i32)
    (loop $l
      (i32.store (local.get $a) (i32.mul (i32.add (local.get $a) (i32.const 7)) (i32.const 0x9e3779b1)))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $a) (i32.const 4096)))))
  (func $intact (result i32) (local $a i32)
    (loop $l
      (if (i32.ne (i32.load (local.get $a)) (i32.mul (i32.add (local.get $a) (i32.const 7)) (i32.const 0x9e3779b1))) (then (return (i32.const 0))))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $a) (i32.const 4096))))
    (i32.const 1))
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (local $i i32) (local $x i64) (local $y i64) (local $f f64) (local $g f64) (local $status i32)
    (call $fill)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (i32.const 20)))
      (local.set $x (i64.add (local.get $x) (i64.extend_i32_u (local.get $i))))
      (local.set $y (i64.sub (local.get $y) (i64.extend_i32_u (local.get $i))))
      (local.set $f (f64.add (local.get $f) (f64.convert_i32_u (local.get $i))))
      (local.set $g (f64.sub (local.get $g) (f64.convert_i32_u (local.get $i))))
      (local.set $status (call $get_state (i32.const 20000) (i32.const ${getBook.length}) (i32.const 30000) (i32.const 30004)))
      (if (local.get $status) (then (return (local.get $status))))
      (if (i32.eqz (call $intact)) (then (return (i32.const 9))))
      (if (i64.ne (i64.add (local.get $x) (local.get $y)) (i64.const 0)) (then (return (i32.const 10))))
      (if (f64.ne (f64.add (local.get $f) (local.get $g)) (f64.const 0)) (then (return (i32.const 10))))
      (if (i32.eqz (i32.load (i32.const 30004))) (then (return (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (i32.const 0)))`;

/**
 * Recurses before its get_state on Redis, each frame holding four i64 locals live across
 * the call: "d..." 3000 frames deep (more than the unwind's data buffer holds), anything
 * else 3 frames.
 */
const deep = `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 20000) "${hex(getBook)}")
  ${watAbiExports}
  (func $down (param $n i32) (result i32) (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local.set $a (i64.extend_i32_u (local.get $n)))
    (local.set $b (i64.mul (local.get $a) (i64.const 3)))
    (local.set $c (i64.mul (local.get $a) (i64.const 5)))
    (local.set $d (i64.mul (local.get $a) (i64.const 7)))
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $get_state (i32.const 20000) (i32.const ${getBook.length}) (i32.const 30000) (i32.const 30004)))
      (else (i32.add
        (call $down (i32.sub (local.get $n) (i32.const 1)))
        (i32.wrap_i64 (i64.sub (i64.add (local.get $a) (local.get $d)) (i64.add (local.get $b) (local.get $c))))))))
  (func (export "ottavo_handle") (param $ptr i32) (param $len i32) (result i32)
    (call $down (select (i32.const 3000) (i32.const 3) (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 2))) (i32.const 0x64))))))`;

/**
 * One get_state on Redis (it waits), then by the first letter of the method: "t" traps,
 * "g" grows the memory past its cap (and traps when that fails), "l" loops forever,
 * "o" loads outside the memory; anything else answers the call's status.
 */
const wild = `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 20000) "${hex(getBook)}")
  ${watAbiExports}
  (func (export "ottavo_handle") (param $ptr i32) (param $len i32) (result i32)
    (local $first i32) (local $status i32)
    (local.set $first (i32.load8_u (i32.add (local.get $ptr) (i32.const 2))))
    (local.set $status (call $get_state (i32.const 20000) (i32.const ${getBook.length}) (i32.const 0) (i32.const 4)))
    (if (i32.eq (local.get $first) (i32.const 0x74)) (then unreachable))
    (if (i32.eq (local.get $first) (i32.const 0x67))
      (then (if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then unreachable))))
    (if (i32.eq (local.get $first) (i32.const 0x6c)) (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $first) (i32.const 0x6f)) (then (drop (i32.load (i32.const 0x7ffffff0)))))
    (local.get $status)))`;

/** One get_state with the given request pointer, length and out-pointers; answers its status. */
function calling(reqPtr: number, reqLen: number, outPtr: number, outLen: number): string {
  return `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 20000) "${hex(getBook)}")
  ${watAbiExports}
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (call $get_state (i32.const ${reqPtr}) (i32.const ${reqLen}) (i32.const ${outPtr}) (i32.const ${outLen}))))`;
}

/** invoke_binding on the http binding, GET /hold on the test's backend (which answers when the test says); answers its status. */
const bindingRequest = toBinary(pb.InvokeBindingRequestSchema, create(pb.InvokeBindingRequestSchema, { name: "http", operation: "get", metadata: { path: "/hold" } }));
const holder = `(module
  (import "ottavo" "invoke_binding" (func $invoke_binding (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 20000) "${hex(bindingRequest)}")
  ${watAbiExports}
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (call $invoke_binding (i32.const 20000) (i32.const ${bindingRequest.length}) (i32.const 0) (i32.const 4))))`;

/** The proxy-wasm exports a Layotto function has: context callbacks and its allocator (a bump allocator from 4096). */
const proxyWasmBase = `(global $next (mut i32) (i32.const 4096))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $at))
  (func (export "proxy_on_context_create") (param i32 i32))`;

/**
 * Layotto's quickstart in WebAssembly text: "stock" (function_2's shape) reads book1 from
 * store state_demo with proxy_get_state and answers the value; "front" (function_1's)
 * calls "stock" with proxy_invoke_service and answers "There are <n> inventories.".
 */
const proxyStock = `(module
  (import "env" "proxy_get_state" (func $get_state (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "state_demobook1")
  ${proxyWasmBase}
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (call $get_state (i32.const 100) (i32.const 10) (i32.const 110) (i32.const 5) (i32.const 200) (i32.const 204)) (then unreachable))
    (drop (call $set (i32.const 1) (i32.const 0) (i32.const 0) (i32.load (i32.const 200)) (i32.load (i32.const 204))))
    (i32.const 0)))`;
const proxyFront = `(module
  (import "env" "proxy_invoke_service" (func $invoke (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "stockThere are  inventories.")
  ${proxyWasmBase}
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (call $invoke (i32.const 100) (i32.const 5) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 200) (i32.const 204)) (then unreachable))
    (drop (call $set (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 105) (i32.const 10)))
    (drop (call $set (i32.const 1) (i32.const 10) (i32.const 0) (i32.load (i32.const 200)) (i32.load (i32.const 204))))
    (drop (call $set (i32.const 1) (i32.const 1000) (i32.const 0) (i32.const 115) (i32.const 13)))
    (i32.const 0)))`;

let rt: TestRuntime;
let redis: RedisServer;
let backend: HttpBackend;
/** The held answers of the binding backend, released by the test. */
const held: ServerResponse[] = [];
let asStock: string;
let goStock: string;

beforeAll(async () => {
  redis = await startRedis();
  backend = await startHttpBackend((_request, response) => held.push(response));
  let keeperPath, deepPath, wildPath, oobRequest, oobOut, oversized, holderPath, stockPath, frontPath;
  [asStock, goStock, keeperPath, deepPath, wildPath, oobRequest, oobOut, oversized, holderPath, stockPath, frontPath] = await Promise.all([
    buildAssemblyScriptGuest(guestSources.asStock),
    buildGoGuest(guestSources.goStock.moduleDir, guestSources.goStock.pkg),
    buildWatGuest("asyncify-keeper", keeper),
    buildWatGuest("asyncify-deep", deep),
    buildWatGuest("asyncify-wild", wild),
    buildWatGuest("asyncify-oob-request", calling(65_500, 100, 0, 4)),
    buildWatGuest("asyncify-oob-out", calling(20000, getBook.length, 65_534, 4)),
    buildWatGuest("asyncify-oversized", calling(0, 2048, 8, 12)),
    buildWatGuest("asyncify-holder", holder),
    buildWatGuest("asyncify-proxy-stock", proxyStock),
    buildWatGuest("asyncify-proxy-front", proxyFront),
  ]);
  const config = demoConfig({ appId: "wasm-asyncify", bindingUrl: backend.url }).replace(
    "    state_demo: { type: in-memory }\n",
    `    state_demo: { type: redis, metadata: { redisHost: "127.0.0.1:${redis.port}" } }\n`,
  );
  rt = await startTestRuntime(
    `  functions:
    keeper: { path: ${keeperPath} }
    deep: { path: ${deepPath} }
    wild: { path: ${wildPath}, cpuLimitMs: 300, maxMemoryPages: 2 }
    oob-request: { path: ${oobRequest} }
    oob-out: { path: ${oobOut} }
    oversized: { path: ${oversized}, bufferCapBytes: 1024 }
    small-answers: { path: ${keeperPath}, bufferCapBytes: 64 }
    holder: { path: ${holderPath}, instances: 3 }
    stock: { path: ${stockPath} }
    front: { path: ${frontPath} }`,
    config,
  );
  await rt.client.saveState({ storeName: "state_demo", states: [{ key: "book1", value: new TextEncoder().encode("100") }] });
  // auto serves each from workers while asyncify rewrites its module (one rewrite at a time), then on the main thread.
  await eventually(() => expect(rt.runtime.functionHost!.list().filter((f) => f.execution !== "asyncify")).toEqual([]), 120_000);
}, buildTimeoutMs);

afterAll(async () => {
  for (const response of held.splice(0)) response.end();
  await rt?.stop();
  await backend?.close();
  await redis?.stop();
});

const call = (id: string, method = "", query = "") =>
  rt.runtime.functionHost!.call(id, { method, verb: "POST", query, contentType: "", data: new Uint8Array(0), headers: [] }).then(
    (answer) => ({ code: "OK", text: new TextDecoder().decode(answer.data) }),
    (error: unknown) => {
      const e = ConnectError.from(error);
      return { code: Code[e.code], text: e.rawMessage };
    },
  );

const statusOf = (name: string) => rt.runtime.functionHost!.list().find((f) => f.name === name)!;

it("auto serves a function whose host calls wait from workers at once, and on the main thread once asyncify has rewritten it", () => {
  for (const f of rt.runtime.functionHost!.list()) expect([f.name, f.execution]).toEqual([f.name, "asyncify"]);
  const keeper = rt.log.lines.filter((l) => l.includes("function 'keeper'"));
  expect(keeper).toEqual([
    "ottavo: function 'keeper' (id 'keeper', ottavo ABI) serves with 1 instance(s) (in worker threads)",
    "ottavo: function 'keeper' moved to the main thread (on the main thread, rewritten by asyncify: host calls that wait suspend the guest)",
  ]);
});

it("a guest suspended in 20 host calls in a row finds its memory (where the data buffer was lent) and its locals as it left them", async () => {
  expect(await call("keeper")).toEqual({ code: "OK", text: "" });
  expect(await call("keeper")).toEqual({ code: "OK", text: "" });
});

it("an unwind deeper than its data buffer fails that call only (INTERNAL, saying so); the next call is served", async () => {
  expect(await call("deep", "shallow")).toEqual({ code: "OK", text: "" });
  const answer = await call("deep", "deep");
  expect(answer).toEqual({ code: "Internal", text: expect.stringMatching(/^the function trapped: its stack, saved while a host call waits, needs more than the 16384 bytes allowed/) });
  expect(await call("deep", "shallow")).toEqual({ code: "OK", text: "" });
  expect(statusOf("deep")).toMatchObject({ restarts: 1, instances: 1 });
});

describe("limits after a host call that waited", () => {
  it("a trap, a load outside the memory and a grow past the memory cap fail that call only; each instance is replaced", async () => {
    expect(await call("wild", "trap")).toEqual({ code: "Internal", text: expect.stringMatching(/^the function trapped: .*unreachable/) });
    expect(await call("wild", "fine")).toEqual({ code: "OK", text: "" });
    expect(await call("wild", "oob")).toEqual({ code: "Internal", text: expect.stringMatching(/^the function trapped: .*memory access out of bounds/) });
    expect(await call("wild", "grow")).toEqual({ code: "Internal", text: expect.stringMatching(/^the function trapped: .*unreachable/) });
    expect(await call("wild", "fine")).toEqual({ code: "OK", text: "" });
    expect(statusOf("wild")).toMatchObject({ restarts: 3, instances: 1, state: "UP" });
  });

  it("a loop that never ends is stopped at the CPU limit (fuel metering survives the rewrite), and the runtime serves on", async () => {
    expect(await call("wild", "loop")).toEqual({ code: "DeadlineExceeded", text: "the invocation ran past its CPU-time limit of 300 ms; the instance was stopped" });
    expect(await call("wild", "fine")).toEqual({ code: "OK", text: "" });
    expect((await rt.client.sayHello({ serviceName: "quick_start_demo", name: "after" })).hello).toBe("greetings, after");
  });

  it("pointers outside the guest's memory answer OUT_OF_RANGE; a request or an answer over the buffer cap RESOURCE_EXHAUSTED", async () => {
    expect((await call("oob-request")).code).toBe("OutOfRange");
    expect((await call("oob-out")).code).toBe("OutOfRange");
    expect((await call("oversized")).code).toBe("ResourceExhausted");
    await rt.client.saveState({ storeName: "state_demo", states: [{ key: "book1", value: new Uint8Array(100).fill(0x31) }] });
    expect((await call("small-answers")).code).toBe("ResourceExhausted");
    await rt.client.saveState({ storeName: "state_demo", states: [{ key: "book1", value: new TextEncoder().encode("100") }] });
    expect(await call("keeper")).toEqual({ code: "OK", text: "" });
  });
});

it("three instances suspend at once (their binding calls held by the backend) while the runtime and other functions serve", async () => {
  const calls = [call("holder"), call("holder"), call("holder")];
  await eventually(() => expect(held).toHaveLength(3));
  // All three guests are suspended on the main thread: other work goes on meanwhile.
  expect(await call("keeper")).toEqual({ code: "OK", text: "" });
  expect((await rt.client.sayHello({ serviceName: "quick_start_demo", name: "meanwhile" })).hello).toBe("greetings, meanwhile");
  expect(statusOf("holder")).toMatchObject({ instances: 3, idle: 0 });
  for (const response of held.splice(0)) response.end("ok");
  expect(await Promise.all(calls)).toEqual(Array(3).fill({ code: "OK", text: "" }));
  expect(statusOf("holder")).toMatchObject({ instances: 3, idle: 3, errors: 0 });
});

it("Layotto's proxy_get_state and proxy_invoke_service suspend too: the quickstart's two functions answer from Redis", async () => {
  expect(await call("front")).toEqual({ code: "OK", text: "There are 100 inventories." });
  const response = await fetch(`${rt.functionsUrl}/?name=book1`, { headers: { id: "front" } });
  expect(await response.text()).toBe("There are 100 inventories.");
});

it("auto keeps a function with a CPU limit over 1 s in a worker: on the main thread it would hold the event loop that long", async () => {
  const keeperPath = statusOf("keeper").path;
  await rt.runtime.functionHost!.install({ name: "long-keeper", path: keeperPath, instances: 1, maxMemoryPages: 1024, cpuLimitMs: 5000, bufferCapBytes: 1 << 20, watch: false, subscriptions: [], execution: "auto" });
  expect(statusOf("long-keeper").execution).toBe("worker");
  expect(await call("long-keeper")).toEqual({ code: "OK", text: "" });
  expect(rt.log.lines.filter((l) => l.includes("function 'long-keeper'"))).toEqual(["ottavo: function 'long-keeper' (id 'long-keeper', ottavo ABI) serves with 1 instance(s) (in worker threads)"]);
  await rt.runtime.functionHost!.uninstall("long-keeper");
});

it("execution: asyncify for a module too large to rewrite is refused at install, saying why", async () => {
  const install = rt.runtime.functionHost!.install({
    name: "go-stock",
    path: goStock,
    instances: 1,
    maxMemoryPages: 1024,
    cpuLimitMs: 1000,
    bufferCapBytes: 1 << 20,
    watch: false,
    subscriptions: [],
    execution: "asyncify",
  });
  await expect(install).rejects.toMatchObject({ code: Code.InvalidArgument, rawMessage: expect.stringMatching(/^function 'go-stock': execution asyncify, but the module \(\d+ bytes\) is larger than/) });
});

it("a watched function installed, moved to the main thread, replaced by new bytes and moved again, all under load, fails no call", async () => {
  const watched = path.join(rt.dir, "stock.wasm");
  copyFileSync(asStock, watched);
  const put = await fetch(`${rt.actuatorUrl}/actuator/functions/as-stock`, { method: "PUT", body: JSON.stringify({ path: watched, instances: 2, watch: true }) });
  expect(put.status).toBe(200);
  const load = loadFunction(`${rt.functionsUrl}/as-stock?name=book1`, "There are 100 inventories for book1.");
  await eventually(() => expect(load.answered()).toBeGreaterThan(20));
  // Installed in workers; moved to the main thread once rewritten, under load.
  await eventually(() => expect(statusOf("as-stock").execution).toBe("asyncify"), 60_000);
  // The same module with a custom section more: other bytes, so a new rewrite.
  const name = Buffer.from("reload");
  appendFileSync(watched, Buffer.concat([Buffer.from([0, name.length + 1, name.length]), name]));
  expect(readFileSync(watched).length).toBeGreaterThan(readFileSync(asStock).length);
  // New bytes: served from workers while they are rewritten, then moved to the main thread, all under load.
  await eventually(() => expect(rt.log.lines).toContain("ottavo: function 'as-stock' updated (id 'as-stock')"), 30_000);
  await eventually(() => expect(rt.log.lines.filter((l) => l.startsWith("ottavo: function 'as-stock' moved to the main thread"))).toHaveLength(2), 60_000);
  const afterReload = load.answered();
  await eventually(() => expect(load.answered()).toBeGreaterThan(afterReload + 20));
  expect(await load.stop()).toEqual([]);
  expect(statusOf("as-stock").execution).toBe("asyncify");
}, 120_000);
