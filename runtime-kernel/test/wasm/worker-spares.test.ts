import { readFileSync } from "node:fs";
import type { Worker } from "node:worker_threads";
import { buildWatGuest, eventually } from "@ottavo/test-support";
import { FunctionInstance, WorkerSpares } from "../../src/wasm/function-instance";

/**
 * Spare workers (cold start): an instance takes a thread started ahead of need and
 * gets its function as a message; it serves as one started with its function does.
 */
const guest = `(module
  (import "ottavo" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "spare")
  (func (export "ottavo_abi_version_1"))
  (func (export "ottavo_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (call $output (i32.const 16) (i32.const 5))
    (i32.const 0)))`;

let spares: WorkerSpares;
let compiled: WebAssembly.Module;

beforeAll(async () => {
  compiled = await WebAssembly.compile(readFileSync(await buildWatGuest("spare", guest)));
  spares = new WorkerSpares();
});

afterAll(async () => {
  await spares.close();
});

function instanceOn(take: () => Worker | undefined): FunctionInstance {
  return new FunctionInstance({
    functionName: "spare",
    module: compiled,
    ottavoImports: [],
    abiVersion: 1,
    bufferCapBytes: 1024,
    cpuLimitMs: 1_000,
    vmConfig: new Uint8Array(0),
    pluginConfig: new Uint8Array(0),
    hostCall: async () => ({ status: 12, body: new Uint8Array(0) }),
    log: () => undefined,
    takeWorker: take,
  });
}

it("each take hands over a different started thread, and a replacement is started", async () => {
  const first = spares.take();
  await new Promise((resolve) => setImmediate(resolve));
  const second = spares.take();
  expect(first).toBeDefined();
  expect(second).toBeDefined();
  expect(second).not.toBe(first);
  await Promise.all([first!.terminate(), second!.terminate()]);
});

it("an instance on a spare thread starts, serves, and stops", async () => {
  // The replacement for the threads the test above took starts on a later turn (under
  // load, later still): wait until the pool has one to give.
  const spare = await eventually(() => spares.take() ?? false);
  let taken: Worker | undefined;
  const instance = instanceOn(() => (taken = spare));
  expect(taken).toBe(spare);
  expect(await instance.ready).toEqual({ abi: "ottavo", functionId: "spare" });
  const out = await instance.invoke({ abi: "ottavo", request: new Uint8Array(0) });
  expect({ status: out.status, body: new TextDecoder().decode(out.body) }).toEqual({ status: 0, body: "spare" });
  await instance.close();
  expect(instance.alive).toBe(false);
});

it("whenReady resolves once a spare has loaded the instance script, and again after a take once its replacement has", async () => {
  await spares.whenReady();
  const loaded = spares.take();
  expect(loaded).toBeDefined();
  await spares.whenReady();
  const next = spares.take();
  expect(next).toBeDefined();
  expect(next).not.toBe(loaded);
  await Promise.all([loaded!.terminate(), next!.terminate()]);
});

it("after close, take hands out nothing and instances start threads of their own", async () => {
  const closed = new WorkerSpares();
  await closed.close();
  expect(closed.take()).toBeUndefined();
  await closed.whenReady();
  const instance = instanceOn(() => closed.take());
  expect((await instance.ready).abi).toBe("ottavo");
  await instance.close();
});
