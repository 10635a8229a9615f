import "./webassembly-api";
import { GuestMemory } from "./guest-memory";
import type { HostCalls } from "./host-calls";
import { ottavoImports } from "./ottavo-abi-imports";
import { ProxyContext, proxyHostCallImports, proxyWasmImports } from "./proxy-wasm-imports";
import type { GuestSuspension } from "./guest-suspension";
import { GuestExit, wasiImports } from "./wasi-shim";
import type { GuestAbi, InvocationInput, InvocationOutput, WorkerSetup } from "./worker-protocol";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const rootContextId = 1;

/** What a guest is started with: the worker's setup, less the bridge (the host calls are given apart). */
export type GuestSetup = Omit<WorkerSetup, "bridge">;

type Exports = Record<string, WebAssembly.ExportValue>;

type GuestFunction = (...args: number[]) => number;

/** One call of a guest export that a start or an invocation makes; the guest's answer goes back into the sequence. */
type ExportCall = readonly [f: GuestFunction, args: readonly number[]];

/** A start or an invocation: the export calls it makes, one after another, and what it answers. */
type Sequence<T> = Generator<ExportCall, T, number>;

/** Runs a sequence calling each export at once. */
function atOnce<T>(sequence: Sequence<T>): T {
  let step = sequence.next();
  while (step.done !== true) step = sequence.next(step.value[0](...step.value[1]));
  return step.value;
}

/**
 * One instance of a function's module, wherever it runs (a worker thread, or the
 * main thread for an inline function): it instantiates the module with the host
 * imports, starts it, and runs one invocation at a time. Host calls go to `calls`,
 * which answers them at once. A trap or exit throws out of start() and invoke().
 */
export class GuestRunner {
  private guestExports: Exports = {};
  private memory: GuestMemory | undefined;
  private readonly proxyContext: ProxyContext;
  private output: Uint8Array = new Uint8Array(0);
  private nextContextId = rootContextId + 1;

  constructor(
    private readonly setup: GuestSetup,
    private readonly calls: HostCalls,
    private readonly log: (level: number, line: string) => void,
    /** Import modules the runtime added to the module (fuel metering's). */
    private readonly added: WebAssembly.Imports = {},
    /** For a module rewritten by asyncify: how its host calls suspend it (start and invoke then go through startResumably/invokeResumably). */
    private readonly suspension?: GuestSuspension,
  ) {
    this.proxyContext = new ProxyContext(setup.vmConfig, setup.pluginConfig);
  }

  private fn(name: string): ((...args: number[]) => number) | undefined {
    const f = this.guestExports[name];
    return typeof f === "function" ? (f as (...args: number[]) => number) : undefined;
  }

  private mem(): GuestMemory {
    if (this.memory === undefined) throw new Error("the module exports no memory");
    return this.memory;
  }

  /** Instantiates and starts the module; answers its ABI and function id. */
  start(): { abi: GuestAbi; functionId: string } {
    return atOnce(this.starting());
  }

  /** start() for a module rewritten by asyncify: its host calls may suspend it (see GuestSuspension.run). */
  startResumably(paused: () => void, resumed: () => boolean): Promise<{ abi: GuestAbi; functionId: string }> {
    return this.resumably(this.starting(), paused, resumed);
  }

  /** One invocation; a trap or an exit throws (see brokenOutput). */
  invoke(input: InvocationInput): InvocationOutput {
    return atOnce(this.invocation(input));
  }

  /** invoke() for a module rewritten by asyncify: its host calls may suspend it (see GuestSuspension.run). */
  invokeResumably(input: InvocationInput, paused: () => void, resumed: () => boolean): Promise<InvocationOutput> {
    return this.resumably(this.invocation(input), paused, resumed);
  }

  private async resumably<T>(sequence: Sequence<T>, paused: () => void, resumed: () => boolean): Promise<T> {
    const suspension = this.suspension!;
    let step = sequence.next();
    while (step.done !== true) step = sequence.next(await suspension.run(step.value[0], step.value[1], paused, resumed));
    return step.value;
  }

  private *starting(): Sequence<{ abi: GuestAbi; functionId: string }> {
    const { module } = this.setup;
    const abi = abiOf(module, this.setup.abiVersion);
    const wanted = (m: string) => WebAssembly.Module.imports(module).filter((i) => i.module === m).map((i) => i.name);
    const mem = () => this.mem();
    const log = this.log;
    const suspension = this.suspension;
    const alloc = (size: number): number => {
      const f = this.fn("ottavo_alloc") ?? this.fn("proxy_on_memory_allocate") ?? this.fn("malloc");
      if (f === undefined) throw new Error("the module exports no allocator (ottavo_alloc, proxy_on_memory_allocate or malloc)");
      if (suspension === undefined) return f(size);
      // Guest code the host calls from inside an import cannot suspend (its host calls answer at once).
      suspension.nested++;
      try {
        return f(size);
      } finally {
        suspension.nested--;
      }
    };
    const env: Record<string, (...args: never[]) => number | void> = {
      ...proxyWasmImports({ memory: mem, alloc, bridge: this.calls, context: this.proxyContext, log }, wanted("env")),
      // AssemblyScript's runtime imports: abort traps with the guest's message, seed feeds Math.random.
      abort: (msgPtr: number, filePtr: number, line: number, column: number) => {
        throw new Error(`abort: ${this.asString(msgPtr)} at ${this.asString(filePtr)}:${line}:${column}`);
      },
      seed: () => Date.now(),
      trace: (msgPtr: number) => log(1, this.asString(msgPtr)),
    };
    const imports: WebAssembly.Imports = {
      ...this.added,
      env,
      wasi_snapshot_preview1: wasiImports(mem, (stream, line) => log(stream === "stdout" ? 2 : 3, line), wanted("wasi_snapshot_preview1")),
      ottavo: ottavoImports({ memory: mem, alloc, bridge: this.calls, log, output: (b) => (this.output = b) }, this.setup.ottavoImports),
    };
    if (suspension !== undefined) {
      // A rewind enters the import again: each import that may wait first takes the guest's memory back.
      resumableImports(imports.ottavo, this.setup.ottavoImports, suspension);
      resumableImports(env, Object.keys(proxyHostCallImports), suspension);
    }
    const instance = new WebAssembly.Instance(module, imports);
    this.guestExports = instance.exports;
    if (this.guestExports.memory instanceof WebAssembly.Memory) this.memory = new GuestMemory(this.guestExports.memory);
    else throw new Error("the module exports no memory named 'memory'");
    suspension?.bind(this.guestExports, this.memory);
    const init = this.fn("_initialize") ?? this.fn("_start");
    if (init !== undefined) yield [init, []];
    let functionId = this.setup.functionName;
    if (abi === "proxy-wasm") {
      yield* this.ifExported("proxy_on_context_create", rootContextId, 0);
      yield* this.ifExported("proxy_on_vm_start", rootContextId, this.setup.vmConfig.length);
      yield* this.ifExported("proxy_on_configure", rootContextId, this.setup.pluginConfig.length);
      const getId = this.fn("proxy_get_id");
      if (getId) {
        this.proxyContext.callData = new Uint8Array(0);
        yield [getId, []];
        if (this.proxyContext.callData.length > 0) functionId = decoder.decode(this.proxyContext.callData);
      }
    } else if (this.fn("ottavo_handle") === undefined) {
      throw new Error("the module exports ottavo_abi_version_N but no ottavo_handle");
    }
    return { abi, functionId };
  }

  /** An AssemblyScript string: UTF-16, its byte length in the u32 before it. */
  private asString(ptr: number): string {
    if (this.memory === undefined || ptr === 0) return "";
    const len = this.memory.readU32(ptr - 4);
    const bytes = len === undefined ? undefined : this.memory.read(ptr, len);
    return bytes === undefined ? "" : String.fromCharCode(...new Uint16Array(bytes.buffer, 0, bytes.length >> 1));
  }

  private *invocation(input: InvocationInput): Sequence<InvocationOutput> {
    if (input.abi === "ottavo") {
      this.output = new Uint8Array(0);
      const ptr = yield [this.fn("ottavo_alloc")!, [input.request.length]];
      if (!this.mem().write(ptr, input.request)) return { status: 13, body: encoder.encode("ottavo_alloc answered memory outside the module") };
      const status = (yield [this.fn("ottavo_handle")!, [ptr, input.request.length]]) >>> 0;
      return { status, body: this.output };
    }
    const id = this.nextContextId++;
    const context = this.proxyContext;
    context.reset(input.headers, input.body);
    yield* this.ifExported("proxy_on_context_create", id, rootContextId);
    yield* this.ifExported("proxy_on_request_headers", id, input.headers.length, input.body.length === 0 ? 1 : 0);
    if (input.body.length > 0) yield* this.ifExported("proxy_on_request_body", id, input.body.length, 1);
    yield* this.ifExported("proxy_on_done", id);
    yield* this.ifExported("proxy_on_log", id);
    yield* this.ifExported("proxy_on_delete", id);
    return { status: 0, body: context.responseBody, headers: context.responseHeaders, httpStatus: context.localStatus };
  }

  /** A call of the export name, when the module has it. */
  private *ifExported(name: string, ...args: number[]): Sequence<void> {
    const f = this.fn(name);
    if (f !== undefined) yield [f, args];
  }
}

/** Wraps the imports named (those present) so that each first lets a rewinding guest take its memory back. */
function resumableImports(imports: WebAssembly.Imports[string], names: readonly string[], suspension: GuestSuspension): void {
  for (const name of names) {
    const f = imports[name];
    if (typeof f !== "function") continue;
    const call = f as (...args: number[]) => unknown;
    imports[name] = (...args: number[]) => {
      suspension.enteringImport();
      return call(...args);
    };
  }
}

/**
 * What a caller gets when an invocation threw: a trap or an exit leaves the guest's
 * state unknown, so its instance is not used again.
 */
export function brokenOutput(error: unknown): InvocationOutput {
  const text = error instanceof GuestExit ? error.message : `the function trapped: ${error instanceof Error ? error.message : String(error)}`;
  return { status: 13, body: encoder.encode(text) };
}

function abiOf(module: WebAssembly.Module, abiVersion: number): GuestAbi {
  const names = WebAssembly.Module.exports(module).map((e) => e.name);
  const versions = names.filter((n) => /^ottavo_abi_version_\d+$/.test(n));
  if (versions.length > 0) {
    if (!versions.includes(`ottavo_abi_version_${abiVersion}`)) {
      throw new Error(`the module speaks ${versions.join(", ")}; this runtime speaks ottavo_abi_version_${abiVersion}`);
    }
    return "ottavo";
  }
  if (names.includes("proxy_on_context_create")) return "proxy-wasm";
  throw new Error("the module exports neither ottavo_abi_version_N (Ottavo's ABI) nor proxy_on_context_create (Layotto's proxy-wasm ABI)");
}
