import { copyFileSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { buildWatGuest } from "@ottavo/test-support";
import { ModuleCache } from "../../src/wasm/module-cache";
import { buildTimeoutMs, startTestRuntime, type TestRuntime } from "./wasm-support";

/**
 * The compiled-module cache: the same bytes compile once (two functions, a re-install,
 * an update to the same file), different bytes compile anew, a module no function uses
 * is kept only within the idle limits, and a call in flight on the old module of an
 * update finishes there.
 */

/** A guest answering `text` (InvokeResponse{data: {value: text}}), after sleeping sleepMs (WASI poll_oneoff) when given. */
function answeringGuest(text: string, sleepMs = 0): string {
  const any = [0x12, text.length, ...Buffer.from(text)];
  const response = [0x0a, any.length, ...any];
  const data = response.map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
  return `(module
  (import "ottavo" "output" (func $output (param i32 i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 2048) "${data}")
  (func (export "ottavo_abi_version_1"))
  (func (export "ottavo_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    ${sleepMs > 0 ? `(i64.store (i32.const 24) (i64.const ${sleepMs * 1_000_000}))
    (drop (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512)))` : ""}
    (call $output (i32.const 2048) (i32.const ${response.length}))
    (i32.const 0)))`;
}

describe("ModuleCache", () => {
  let one: Uint8Array;
  let two: Uint8Array;
  let three: Uint8Array;

  beforeAll(async () => {
    [one, two, three] = (await Promise.all(["one", "two", "three"].map((t) => buildWatGuest(`cache-${t}`, answeringGuest(t))))).map((f) => readFileSync(f));
  });

  it("gives the same module for the same bytes (one compile, also for acquisitions while it compiles) and a new one for other bytes", async () => {
    const cache = new ModuleCache();
    const [a, b] = await Promise.all([cache.acquire(one), cache.acquire(Uint8Array.from(one))]);
    expect(a.module).toBe(b.module);
    const c = await cache.acquire(two);
    expect(c.module).not.toBe(a.module);
    expect(cache.stats()).toEqual({ compiles: 2, hits: 1, modules: 2, inUse: 2, idleBytes: 0 });
  });

  it("keeps a module while any lease holds it, then within the idle limits for a re-install; past them the least recently released goes", async () => {
    const cache = new ModuleCache({ idleModules: 2, idleBytes: 1 << 20 });
    const a = await cache.acquire(one);
    const a2 = await cache.acquire(one);
    a.release();
    a.release(); // a second release of the same lease counts once
    expect(cache.stats().inUse).toBe(1);
    a2.release();
    expect(cache.stats()).toMatchObject({ modules: 1, inUse: 0, idleBytes: one.length });
    const again = await cache.acquire(one);
    expect(again.module).toBe(a.module);
    expect(cache.stats()).toMatchObject({ compiles: 1, hits: 2, inUse: 1, idleBytes: 0 });
    again.release();
    (await cache.acquire(two)).release();
    (await cache.acquire(three)).release();
    // one was released first: it is the one dropped.
    expect(cache.stats()).toMatchObject({ compiles: 3, modules: 2, inUse: 0, idleBytes: two.length + three.length });
    const recompiled = await cache.acquire(one);
    expect(recompiled.module).not.toBe(a.module);
    expect(cache.stats().compiles).toBe(4);
    (await cache.acquire(two)).release();
    expect(cache.stats().compiles).toBe(4);
  });

  it("drops a module as soon as no lease holds it when no idle module may be kept, and by bytes", async () => {
    const none = new ModuleCache({ idleModules: 0, idleBytes: 0 });
    (await none.acquire(one)).release();
    expect(none.stats()).toMatchObject({ modules: 0, inUse: 0 });
    const small = new ModuleCache({ idleModules: 10, idleBytes: one.length + two.length - 1 });
    (await small.acquire(one)).release();
    (await small.acquire(two)).release();
    expect(small.stats()).toMatchObject({ modules: 1, idleBytes: two.length });
  });

  it("keeps no failed compile: the same bytes fail again, and a module in use is never dropped", async () => {
    const cache = new ModuleCache({ idleModules: 0, idleBytes: 0 });
    const broken = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]);
    await expect(cache.acquire(broken)).rejects.toThrow();
    await expect(cache.acquire(broken)).rejects.toThrow();
    const held = await cache.acquire(one);
    expect(cache.stats()).toMatchObject({ compiles: 3, modules: 1, inUse: 1 });
    (await cache.acquire(two)).release();
    expect((await cache.acquire(one)).module).toBe(held.module);
  });
});

describe("functions share compiled modules", () => {
  let rt: TestRuntime;
  let oneFile: string;
  let slowOne: string;
  let two: string;

  beforeAll(async () => {
    [oneFile, slowOne, two] = await Promise.all([
      buildWatGuest("cache-one", answeringGuest("one")),
      buildWatGuest("cache-slow-one", answeringGuest("one", 300)),
      buildWatGuest("cache-two", answeringGuest("two")),
    ]);
    rt = await startTestRuntime("  functions: {}");
  }, buildTimeoutMs);

  afterAll(async () => {
    await rt?.stop();
  });

  const spec = (name: string, file: string, instances = 1) => ({
    name,
    path: file,
    instances,
    maxMemoryPages: 16,
    cpuLimitMs: 5_000,
    bufferCapBytes: 1 << 20,
    watch: false,
    subscriptions: [],
    execution: "auto" as const,
  });
  const call = (id: string) =>
    rt.runtime.functionHost!.call(id, { method: "", verb: "POST", query: "", contentType: "", data: new Uint8Array(0), headers: [] }).then(
      (a) => new TextDecoder().decode(a.data),
      (e: unknown) => `${Code[ConnectError.from(e).code]}`,
    );

  it("two functions and a re-install of the same bytes compile once; an update to other bytes compiles them; a call in flight finishes on the old module", async () => {
    const host = rt.runtime.functionHost!;
    const before = host.moduleCacheStats();
    const file = path.join(rt.dir, "f.wasm");
    copyFileSync(slowOne, file);
    await host.install(spec("f", file, 2));
    await host.install(spec("g", file));
    expect(await call("g")).toBe("one");
    await host.uninstall("g");
    await host.install(spec("g", file));
    expect(host.moduleCacheStats().compiles - before.compiles).toBe(1);
    expect(host.moduleCacheStats().hits - before.hits).toBe(2);

    const inFlight = call("f");
    copyFileSync(two, file);
    await host.update(spec("f", file, 2));
    expect(await inFlight).toBe("one");
    expect(await call("f")).toBe("two");
    expect(await call("g")).toBe("one");
    expect(host.moduleCacheStats().compiles - before.compiles).toBe(2);

    // Other bytes compile; so does a new memory cap (written into the bytes compiled); going back to the first cap finds it kept.
    await host.install(spec("h", oneFile));
    expect(host.moduleCacheStats().compiles - before.compiles).toBe(3);
    await host.update({ ...spec("h", oneFile), maxMemoryPages: 8 });
    expect(host.moduleCacheStats().compiles - before.compiles).toBe(4);
    await host.update(spec("h", oneFile));
    expect(host.moduleCacheStats().compiles - before.compiles).toBe(4);
    expect(await call("h")).toBe("one");
  });

  it("a module no function uses any more is released (kept idle for a re-install)", async () => {
    const host = rt.runtime.functionHost!;
    for (const name of ["f", "g", "h"]) await host.uninstall(name);
    expect(host.moduleCacheStats().inUse).toBe(0);
  });
});
