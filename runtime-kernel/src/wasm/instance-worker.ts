import "./webassembly-api";
import { parentPort, workerData } from "node:worker_threads";
import { BridgeClient, bridgeOps } from "./host-bridge";
import { GuestMemory } from "./guest-memory";
import { ottavoImports } from "./ottavo-abi-imports";
import { ProxyContext, proxyWasmImports } from "./proxy-wasm-imports";
import { GuestExit, wasiImports } from "./wasi-shim";
import type { FromWorker, GuestAbi, InvocationInput, InvocationOutput, ToWorker, WorkerSetup } from "./worker-protocol";

/**
 * One function instance, in its own worker thread: it instantiates the module with
 * the host imports, starts it, and runs one invocation at a time. Host calls block
 * this thread on the bridge while the main thread answers them; the main thread
 * may terminate this worker at any time (CPU limit, uninstall).
 */
let setup: WorkerSetup;
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const rootContextId = 1;

type Exports = Record<string, WebAssembly.ExportValue>;
let guestExports: Exports = {};
let memory: GuestMemory | undefined;
let bridge: BridgeClient;
let proxyContext: ProxyContext;
let output: Uint8Array = new Uint8Array(0);
let nextContextId = rootContextId + 1;

function fn(name: string): ((...args: number[]) => number) | undefined {
  const f = guestExports[name];
  return typeof f === "function" ? (f as (...args: number[]) => number) : undefined;
}

function log(level: number, line: string): void {
  post({ t: "log", level, line });
}

function mem(): GuestMemory {
  if (memory === undefined) throw new Error("the module exports no memory");
  return memory;
}

function abiOf(module: WebAssembly.Module): GuestAbi {
  const names = WebAssembly.Module.exports(module).map((e) => e.name);
  const versions = names.filter((n) => /^ottavo_abi_version_\d+$/.test(n));
  if (versions.length > 0) {
    if (!versions.includes(`ottavo_abi_version_${setup.abiVersion}`)) {
      throw new Error(`the module speaks ${versions.join(", ")}; this runtime speaks ottavo_abi_version_${setup.abiVersion}`);
    }
    return "ottavo";
  }
  if (names.includes("proxy_on_context_create")) return "proxy-wasm";
  throw new Error("the module exports neither ottavo_abi_version_N (Ottavo's ABI) nor proxy_on_context_create (Layotto's proxy-wasm ABI)");
}

function start(): void {
  const module = setup.module;
  const abi = abiOf(module);
  const wanted = (m: string) => WebAssembly.Module.imports(module).filter((i) => i.module === m).map((i) => i.name);
  const alloc = (size: number): number => {
    const f = fn("ottavo_alloc") ?? fn("proxy_on_memory_allocate") ?? fn("malloc");
    if (f === undefined) throw new Error("the module exports no allocator (ottavo_alloc, proxy_on_memory_allocate or malloc)");
    return f(size);
  };
  const env: Record<string, (...args: never[]) => number | void> = {
    ...proxyWasmImports({ memory: mem, alloc, bridge, context: proxyContext, log }, wanted("env")),
    // AssemblyScript's runtime imports: abort traps with the guest's message, seed feeds Math.random.
    abort: (msgPtr: number, filePtr: number, line: number, column: number) => {
      throw new Error(`abort: ${asString(msgPtr)} at ${asString(filePtr)}:${line}:${column}`);
    },
    seed: () => Date.now(),
    trace: (msgPtr: number) => log(1, asString(msgPtr)),
  };
  const imports: WebAssembly.Imports = {
    env,
    wasi_snapshot_preview1: wasiImports(mem, (stream, line) => log(stream === "stdout" ? 2 : 3, line), wanted("wasi_snapshot_preview1")),
    ottavo: ottavoImports({ memory: mem, alloc, bridge, log, output: (b) => (output = b) }, setup.ottavoImports),
  };
  const instance = new WebAssembly.Instance(module, imports);
  guestExports = instance.exports;
  if (guestExports.memory instanceof WebAssembly.Memory) memory = new GuestMemory(guestExports.memory);
  else throw new Error("the module exports no memory named 'memory'");
  (fn("_initialize") ?? fn("_start"))?.();
  let functionId = setup.functionName;
  if (abi === "proxy-wasm") {
    fn("proxy_on_context_create")?.(rootContextId, 0);
    fn("proxy_on_vm_start")?.(rootContextId, setup.vmConfig.length);
    fn("proxy_on_configure")?.(rootContextId, setup.pluginConfig.length);
    const getId = fn("proxy_get_id");
    if (getId) {
      proxyContext.callData = new Uint8Array(0);
      getId();
      if (proxyContext.callData.length > 0) functionId = decoder.decode(proxyContext.callData);
    }
  } else if (fn("ottavo_handle") === undefined) {
    throw new Error("the module exports ottavo_abi_version_N but no ottavo_handle");
  }
  post({ t: "ready", abi, functionId });
}

/** An AssemblyScript string: UTF-16, its byte length in the u32 before it. */
function asString(ptr: number): string {
  if (memory === undefined || ptr === 0) return "";
  const len = memory.readU32(ptr - 4);
  const bytes = len === undefined ? undefined : memory.read(ptr, len);
  return bytes === undefined ? "" : String.fromCharCode(...new Uint16Array(bytes.buffer, 0, bytes.length >> 1));
}

function invoke(input: InvocationInput): InvocationOutput {
  if (input.abi === "ottavo") {
    output = new Uint8Array(0);
    const ptr = fn("ottavo_alloc")!(input.request.length);
    if (!mem().write(ptr, input.request)) return { status: 13, body: encoder.encode("ottavo_alloc answered memory outside the module") };
    const status = fn("ottavo_handle")!(ptr, input.request.length) >>> 0;
    return { status, body: output };
  }
  const id = nextContextId++;
  proxyContext.reset(input.headers, input.body);
  fn("proxy_on_context_create")?.(id, rootContextId);
  fn("proxy_on_request_headers")?.(id, input.headers.length, input.body.length === 0 ? 1 : 0);
  if (input.body.length > 0) fn("proxy_on_request_body")?.(id, input.body.length, 1);
  fn("proxy_on_done")?.(id);
  fn("proxy_on_log")?.(id);
  fn("proxy_on_delete")?.(id);
  return { status: 0, body: proxyContext.responseBody, headers: proxyContext.responseHeaders, httpStatus: proxyContext.localStatus };
}

port.on("message", (message: ToWorker) => {
  if (message.t === "setup") {
    begin(message.setup);
    return;
  }
  if (message.t !== "invoke") return;
  try {
    post({ t: "done", seq: message.seq, output: invoke(message.input), broken: false });
  } catch (error) {
    // A trap or an exit leaves the guest's state unknown: this instance is not used again.
    const text = error instanceof GuestExit ? error.message : `the function trapped: ${error instanceof Error ? error.message : String(error)}`;
    post({ t: "done", seq: message.seq, output: { status: 13, body: encoder.encode(text) }, broken: true });
  }
});

/** Instantiates and starts the function; a spare worker (started before it had a function) gets its setup as a message. */
function begin(given: WorkerSetup): void {
  setup = given;
  bridge = new BridgeClient(setup.bridge, bridgeOps(setup.ottavoImports));
  proxyContext = new ProxyContext(setup.vmConfig, setup.pluginConfig);
  try {
    start();
  } catch (error) {
    post({ t: "failed", error: error instanceof Error ? error.message : String(error) });
  }
}

if (workerData !== null && workerData !== undefined) begin(workerData as WorkerSetup);
