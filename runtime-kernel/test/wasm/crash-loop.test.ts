import { Code, ConnectError } from "@connectrpc/connect";
import { buildWatGuest, eventually } from "@ottavo/test-support";
import { startTestRuntime, type TestRuntime, watAbiExports } from "./wasm-support";

/**
 * A function that traps on every instantiation and call is rate-limited: after five
 * failures in ten seconds it is DOWN with the reason in the actuator and in
 * readiness, its restarts are spaced out (the backoff doubles per failure), calls
 * answer UNAVAILABLE at once instead of spinning up instances, and once the cause
 * is gone it serves and is UP again. The guest, in WebAssembly text, reads the state
 * key `crash` when it starts and on each call, and traps while the key is set.
 */
jest.setTimeout(60_000);

/** GetStateRequest{store_name: "state_demo", key: "crash"} as WAT data (19 bytes). */
const crashKeyRequest = "\\0a\\0astate_demo\\12\\05crash";

const crashyGuest = `(module
  (import "ottavo" "get_state" (func $get_state (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "${crashKeyRequest}")
  ${watAbiExports}
  ;; Traps when the state key "crash" holds anything (its GetStateResponse is not empty).
  (func $trap_if_crash
    (drop (call $get_state (i32.const 16) (i32.const 19) (i32.const 0) (i32.const 4)))
    (if (i32.gt_u (i32.load (i32.const 4)) (i32.const 0)) (then unreachable)))
  (func (export "_initialize") (call $trap_if_crash))
  (func (export "ottavo_handle") (param i32 i32) (result i32)
    (call $trap_if_crash)
    (i32.const 0)))`;

interface Status {
  state: string;
  reason: string;
  restarts: number;
  restartBackoffMs: number;
  lastError: string;
  instances: number;
}

let rt: TestRuntime;

beforeAll(async () => {
  const crashy = await buildWatGuest("crashy", crashyGuest);
  rt = await startTestRuntime(`  functions:
    crashy: { path: ${crashy} }`);
});

afterAll(async () => {
  await rt?.stop();
});

const status = async (): Promise<Status> => (await (await fetch(`${rt.actuatorUrl}/actuator/functions/crashy`)).json()) as Status;
const setCrash = () => rt.client.saveState({ storeName: "state_demo", states: [{ key: "crash", value: new TextEncoder().encode("1") }] });
const clearCrash = () => rt.client.deleteState({ storeName: "state_demo", key: "crash" });
const call = () =>
  rt.runtime.functionHost!.call("crashy", { method: "", verb: "POST", query: "", contentType: "", data: new Uint8Array(0), headers: [] }).then(
    () => ({ code: "OK", text: "" }),
    (error: unknown) => ({ code: Code[ConnectError.from(error).code], text: ConnectError.from(error).rawMessage }),
  );

it("serves while the cause is absent", async () => {
  expect(await call()).toEqual({ code: "OK", text: "" });
  expect((await status()).state).toBe("UP");
});

it("trapping on every call and instantiation makes it DOWN with the reason, in the actuator and readiness", async () => {
  await setCrash();
  expect(await call()).toEqual({ code: "Internal", text: "the function trapped: unreachable" });
  const down = await eventually(async () => {
    const s = await status();
    expect(s.state).toBe("DOWN");
    return s;
  });
  expect(down.reason).toMatch(/^crash loop: \d+ instance failures in 10 s; restarting in \d+ ms; last: trap: /);
  expect(down.reason).toContain("unreachable");
  const readiness = (await (await fetch(`${rt.actuatorUrl}/actuator/health/readiness`)).json()) as { status: string; components: Record<string, { status: string; details: { reason: string } }> };
  expect(readiness.status).toBe("DOWN");
  expect(readiness.components["function.crashy"]).toEqual({ status: "DOWN", details: { reason: expect.stringContaining("crash loop") } });
});

it("its restarts are spaced out: the backoff doubles with each further failure", async () => {
  const first = await eventually(async () => {
    const s = await status();
    expect(s.restartBackoffMs).toBeGreaterThanOrEqual(1_000);
    return s;
  });
  const second = await eventually(async () => {
    const s = await status();
    expect(s.restarts).toBeGreaterThan(first.restarts);
    return s;
  }, 30_000);
  expect(second.restartBackoffMs).toBe(Math.min(first.restartBackoffMs * 2 ** (second.restarts - first.restarts), 30_000));
});

it("while DOWN with no instance running, calls answer UNAVAILABLE with the reason at once and start nothing", async () => {
  const before = await eventually(async () => {
    const s = await status();
    expect(s.instances).toBe(0);
    return s;
  });
  const answers = await Promise.all(Array.from({ length: 20 }, call));
  for (const a of answers) {
    expect(a.code).toBe("Unavailable");
    expect(a.text).toMatch(/^the function is DOWN \(crash loop: /);
  }
  const after = await status();
  expect(after.restarts - before.restarts).toBeLessThanOrEqual(1);
});

it("once the cause is gone, the next spaced restart serves and the first good call makes it UP", async () => {
  await clearCrash();
  await eventually(async () => expect(await call()).toEqual({ code: "OK", text: "" }), 40_000);
  const s = await status();
  expect(s.state).toBe("UP");
  expect(s.reason).toBe("");
  expect(s.restartBackoffMs).toBe(0);
});
