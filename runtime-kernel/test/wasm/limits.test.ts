import { Code, ConnectError } from "@connectrpc/connect";
import { buildGoGuest, buildWatGuest, eventually } from "@ottavo/test-support";
import { buildTimeoutMs, guestSources, startTestRuntime, type TestRuntime, watAbiExports } from "./wasm-support";

/**
 * The host's limits, each followed by a call that proves the runtime (and the
 * function) still serves: the CPU-time limit, the memory cap, traps, pointers
 * outside the guest's memory and buffers over the cap, exact to the byte with
 * guests written in WebAssembly text.
 */

/** A guest whose ottavo_handle makes one get_state call with the given arguments and answers its status. */
function callingGuest(reqPtr: number, reqLen: number, outPtr: number, outLen: number, pages = 1): string {
  return `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") ${pages})
  ${watAbiExports}
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (call $get_state (i32.const ${reqPtr}) (i32.const ${reqLen}) (i32.const ${outPtr}) (i32.const ${outLen}))))`;
}

/** A guest whose ottavo_handle sleeps (WASI poll_oneoff, a relative clock subscription) for ms. */
function sleepingGuest(ms: number): string {
  return `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "ottavo_abi_version_1"))
  (func (export "ottavo_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (i64.store (i32.const 24) (i64.const ${ms * 1_000_000}))
    (drop (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512)))
    (i32.const 0)))`;
}

/** A guest whose ottavo_handle calls function "sleeper" through invoke_service, then answers its status or, with spin, loops forever. */
function patientGuest(spin: boolean): string {
  return `(module
  (import "ottavo" "invoke_service" (func $invoke (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\\0a\\07sleeper\\1a\\03\\0a\\01x")
  ${watAbiExports}
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (local $status i32)
    (local.set $status (call $invoke (i32.const 16) (i32.const 14) (i32.const 0) (i32.const 4)))
    ${spin ? "(loop $forever (br $forever))" : ""}
    (local.get $status)))`;
}

/** A guest whose ottavo_handle makes one say_hello call with a 3-byte request (service "x") and answers its status. */
const helloGuest = `(module
  (import "ottavo" "say_hello" (func $say_hello (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\\0a\\01x")
  ${watAbiExports}
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (call $say_hello (i32.const 16) (i32.const 3) (i32.const 0) (i32.const 4))))`;

let rt: TestRuntime;

beforeAll(async () => {
  const tour = await buildGoGuest(guestSources.goTour.moduleDir, guestSources.goTour.pkg);
  const oobRequest = await buildWatGuest("oob-request", callingGuest(65_500, 100, 0, 4));
  const oobOut = await buildWatGuest("oob-out", callingGuest(0, 0, 65_534, 4));
  const oversized = await buildWatGuest("oversized", callingGuest(0, 2048, 8, 12));
  const sleeper = await buildWatGuest("sleeper-900ms", sleepingGuest(900));
  const hello = await buildWatGuest("hello-x", helloGuest);
  const patient = await buildWatGuest("patient", patientGuest(false));
  const patientThenSpins = await buildWatGuest("patient-then-spins", patientGuest(true));
  rt = await startTestRuntime(`  functions:
    tour: { path: ${tour}, cpuLimitMs: 500, maxMemoryPages: 512 }
    grower: { path: ${tour}, cpuLimitMs: 10000, maxMemoryPages: 512 }
    oob-request: { path: ${oobRequest} }
    oob-out: { path: ${oobOut} }
    oversized: { path: ${oversized}, bufferCapBytes: 1024 }
    sleeper: { path: ${sleeper}, cpuLimitMs: 10000 }
    tiny-cap: { path: ${hello}, bufferCapBytes: 8, execution: worker }
    patient: { path: ${patient}, cpuLimitMs: 300 }
    patient-then-spins: { path: ${patientThenSpins}, cpuLimitMs: 300 }`);
  // auto serves patient* from workers while asyncify rewrites them, then on the main thread.
  await eventually(() => expect(rt.runtime.functionHost!.list().filter((f) => f.name.startsWith("patient") && f.execution === "asyncify")).toHaveLength(2), 120_000);
}, buildTimeoutMs);

afterAll(async () => {
  await rt?.stop();
});

const call = (id: string, method = "") =>
  rt.runtime.functionHost!.call(id, { method, verb: "POST", query: "", contentType: "", data: new Uint8Array(0), headers: [] }).then(
    (answer) => ({ code: "OK", text: new TextDecoder().decode(answer.data) }),
    (error: unknown) => {
      const e = ConnectError.from(error);
      return { code: Code[e.code], text: e.rawMessage };
    },
  );

/** The function still answers a normal call afterwards. */
async function stillServes(): Promise<void> {
  expect(await call("tour", "print")).toEqual({ code: "OK", text: "" });
}

it("a function that loops forever is stopped at its CPU limit with DEADLINE_EXCEEDED, and its instance replaced", async () => {
  const answer = await call("tour", "spin");
  expect(answer).toEqual({ code: "DeadlineExceeded", text: "the invocation ran past its CPU-time limit of 500 ms; the instance was stopped" });
  await stillServes();
  const status = rt.runtime.functionHost!.list().find((f) => f.name === "tour")!;
  expect(status.restarts).toBeGreaterThanOrEqual(1);
  expect(status.lastError).toContain("CPU-time limit");
});

it("time in host calls does not count against the CPU-time limit: a 900 ms host call within a 300 ms limit succeeds", async () => {
  // auto: patient waits on the main thread (asyncify), the sleeper (cpuLimitMs over 1 s) in a worker.
  expect(rt.runtime.functionHost!.list().filter((f) => f.name.startsWith("patient") || f.name === "sleeper").map((f) => [f.name, f.execution])).toEqual([
    ["sleeper", "worker"],
    ["patient", "asyncify"],
    ["patient-then-spins", "asyncify"],
  ]);
  expect(await call("patient")).toEqual({ code: "OK", text: "" });
});

it("the guest's own time after a long host call still counts: a loop after it is stopped at the limit", async () => {
  const answer = await call("patient-then-spins");
  expect(answer).toEqual({ code: "DeadlineExceeded", text: "the invocation ran past its CPU-time limit of 300 ms; the instance was stopped" });
  expect(await call("patient")).toEqual({ code: "OK", text: "" });
});

it("a function that grows past its memory cap traps (INTERNAL) and the next call is served", async () => {
  // A CPU limit far above the growth's own time, so a loaded machine cannot turn the trap into DEADLINE_EXCEEDED.
  const answer = await call("grower", "grow");
  expect(answer.code).toBe("Internal");
  expect(answer.text).toMatch(/^the function trapped/);
  expect(rt.log.lines.some((l) => l.includes("out of memory"))).toBe(true);
  expect(await call("grower", "print")).toEqual({ code: "OK", text: "" });
});

it("a panic traps that call only", async () => {
  expect(await call("tour", "panic")).toEqual({ code: "Internal", text: "the function trapped: unreachable" });
  await stillServes();
});

it("a request pointer outside the guest's memory answers OUT_OF_RANGE, nothing read", async () => {
  const answer = await call("oob-request");
  expect(answer.code).toBe("OutOfRange");
});

it("out-pointers outside the guest's memory answer OUT_OF_RANGE, nothing written", async () => {
  expect((await call("oob-out")).code).toBe("OutOfRange");
});

it("a request over the function's buffer cap answers RESOURCE_EXHAUSTED", async () => {
  expect((await call("oversized")).code).toBe("ResourceExhausted");
});

it("an answer over a cap smaller than the bridge's own message answers RESOURCE_EXHAUSTED (the message cut to the cap)", async () => {
  expect((await call("tiny-cap")).code).toBe("ResourceExhausted");
  expect((await call("tiny-cap")).code).toBe("ResourceExhausted");
});

it("the runtime's API still serves after all of it", async () => {
  expect((await rt.client.sayHello({ serviceName: "quick_start_demo", name: "after" })).hello).toBe("greetings, after");
});
