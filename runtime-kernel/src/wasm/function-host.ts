import "./webassembly-api";
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { DescMethodUnary } from "@bufbuild/protobuf";
import { UnaryCallContext } from "../server/grpc/unary-call-context";
import type { RuntimeHandlerGroups } from "@ottavo/generated/server/runtime-handlers";
import {
  CommonInvokeRequestSchema,
  HTTPExtension_Verb,
  InvokeResponseSchema,
  type GetStateRequest,
  InvokeServiceRequestSchema,
  Runtime as RuntimeService,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { runtimeWasmImports, wasmAbiVersion, type RuntimeSyncHandlerGroups, type WasmHostImport } from "@ottavo/generated/wasm/runtime-abi";
import type { InvocationRequest, InvocationResponse, InvocationTarget } from "../invoke/invocation";
import { unpackFields, type BridgeAnswer } from "./host-bridge";
import { FunctionPool, type PoolInstance, type PoolStats } from "./function-pool";
import { FunctionInstance, WorkerSpares } from "./function-instance";
import { InlineInstance, fuelTank } from "./inline-instance";
import { proxyHostCallImports } from "./proxy-wasm-imports";
import { asyncify, asyncifyDone, AsyncifyError, asyncifyIdle, asyncifyRefusal } from "./asyncify";
import { addFuelCached, FuelError, type Instrumented } from "./fuel";
import type { FunctionSpec, FunctionSubscription } from "../config/function-spec";
import type { FunctionSubscriptions, SubscriptionSet } from "./function-subscriptions";
import { capMemoryPages } from "./module-limits";
import { ModuleCache, type ModuleCacheStats, type ModuleLease } from "./module-cache";
import { Pipeline, type CallInfo, type StartedCall } from "../server/pipeline";
import { CallValues } from "../server/call-values";
import type { InvocationOutput } from "./worker-protocol";

/** How long a call waits for a free instance before RESOURCE_EXHAUSTED. */
const acquireTimeoutMs = 5_000;
/** File-watch events within this window are one reload (editors write in several steps). */
const reloadDebounceMs = 100;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An HTTP request on the function port, or an invocation from InvokeService, as a function receives it. */
export interface FunctionCall {
  readonly method: string;
  readonly verb: string;
  readonly query: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly headers: readonly (readonly [string, string])[];
}

/** A function's answer: an HTTP status (200, or the function's own), a body and headers. */
export interface FunctionAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly headers: readonly (readonly [string, string])[];
}

/** A function call that failed: the gRPC code and text a caller gets. */
export class FunctionCallError extends ConnectError {}

/** What an inline function's host calls reach: the synchronous handlers over the components it is granted. */
export interface AtOnceHandlers {
  readonly groups: RuntimeSyncHandlerGroups;
  /** Whether every granted component of the capability (a handler group's name) has a synchronous form. */
  answersAtOnce(capability: string): boolean;
}

export interface FunctionHostOptions {
  /** The Runtime handlers a function may reach, over the components it is granted (all when undefined). */
  readonly handlersFor: (components: readonly string[] | undefined) => RuntimeHandlerGroups;
  /**
   * The synchronous handlers over the same components, for functions that run inline
   * (on the main thread); without it every function runs in a worker thread.
   */
  readonly atOnceFor?: (components: readonly string[] | undefined) => AtOnceHandlers;
  /** Service invocation for ids that are not functions (the kernel's InvokeService). */
  readonly invokeOther?: (id: string, call: FunctionCall) => Promise<FunctionAnswer>;
  /** Registers a function with InvokeService under its id; returns the unregister function. */
  readonly registerTarget?: (id: string, target: InvocationTarget) => () => void;
  /**
   * The steps every host call passes, as a gRPC call of the same rpc does (metrics,
   * error mapping), with protocol "wasm". The API token step is not among them: a host
   * call comes from a module the runtime's own config or actuator loaded, inside the
   * process, and what it may reach is its component allow-list.
   */
  readonly pipeline?: Pipeline;
  /** Pub/sub delivery to functions with subscriptions; without it a function with subscriptions is refused. */
  readonly subscriptions?: FunctionSubscriptions;
  readonly configDir: string;
  readonly log: (line: string) => void;
}

/**
 * Where a function's instances run: on the main thread with host calls answered at
 * once (inline), on the main thread with a module rewritten by asyncify so that host
 * calls that wait suspend the guest (asyncify), or in worker threads (worker).
 */
export type RunsIn = "inline" | "asyncify" | "worker";

/**
 * auto runs a function on the main thread (inline or asyncify) only when its CPU-time
 * limit is at most this: a guest on the main thread holds the runtime's event loop
 * while it computes (up to its limit per call), so a function configured for longer
 * computations runs in a worker thread, where it holds only its own.
 */
export const autoMainThreadMaxCpuMs = 1_000;

interface Installed {
  spec: FunctionSpec;
  pool: FunctionPool;
  runsIn: RunsIn;
  handlers: RuntimeHandlerGroups;
  watcher?: FSWatcher;
  reloadTimer?: NodeJS.Timeout;
  /** Takes the function off InvokeService's registry. */
  unregister?: () => void;
  /** Its topic subscriptions, when it has any. */
  subscribed?: SubscriptionSet;
  /** Serialises updates of one function. */
  updating: Promise<void>;
}

export interface FunctionStatus extends PoolStats {
  readonly name: string;
  readonly id: string;
  readonly abi: string;
  readonly path: string;
  readonly configuredInstances: number;
  /** Where its instances run: decided at install from its execution setting (auto: from its imports and components). */
  readonly execution: RunsIn;
}

/**
 * The functions of a runtime: their pools, install/update/uninstall at run time,
 * invocation by id (the HTTP trigger, InvokeService, pub/sub), and the host calls
 * their guests make, answered by the same handlers the gRPC API uses.
 */
export class FunctionHost {
  private readonly byName = new Map<string, Installed>();
  private readonly imports = new Map<string, WasmHostImport>(runtimeWasmImports.map((i) => [i.name, i]));
  /** Each host call a guest can make ("ottavo.get_state", "proxy.get_state", ...), prepared once (see HostOp). */
  private readonly hostOps = new Map<string, HostOp>([
    ...runtimeWasmImports.map((i): [string, HostOp] => [`ottavo.${i.name}`, hostOp(i, i.rpc)]),
    ...Object.entries(proxyRpcs).map(([op, rpc]): [string, HostOp] => [op, hostOp(undefined, rpc)]),
  ]);
  private readonly pipeline: Pipeline;
  /** Compiled modules by their bytes: one compile for the same bytes across pools, re-installs and updates. */
  private readonly modules = new ModuleCache();
  /** Started with the first function, so a runtime without functions starts no thread. */
  private spares: WorkerSpares | undefined;
  private closed = false;

  constructor(private readonly options: FunctionHostOptions) {
    this.pipeline = options.pipeline ?? new Pipeline();
  }

  /** Starts a function; fails (nothing installed) when its module cannot load or start. */
  async install(spec: FunctionSpec): Promise<FunctionStatus> {
    if (this.byName.has(spec.name)) throw new ConnectError(`function '${spec.name}' is already installed; use update`, Code.AlreadyExists);
    this.checkSubscriptions(spec);
    const handlers = this.options.handlersFor(spec.components);
    const { pool, runsIn, rewriting } = await this.startPool(spec, handlers);
    const clash = this.find(pool.functionId ?? spec.name);
    if (clash !== undefined || this.byName.has(spec.name)) {
      await pool.close();
      throw new ConnectError(`function id '${pool.functionId}' is already served by function '${clash?.spec.name ?? spec.name}'`, Code.AlreadyExists);
    }
    const entry: Installed = { spec, pool, runsIn, handlers, updating: Promise.resolve() };
    try {
      this.register(entry);
    } catch (error) {
      await pool.close();
      throw new ConnectError(`function '${spec.name}': ${error instanceof Error ? error.message : String(error)}`, Code.AlreadyExists);
    }
    try {
      this.checkAbiTakesEvents(spec, pool.abi);
      entry.subscribed = await this.subscribe(entry, spec.subscriptions);
    } catch (error) {
      entry.unregister?.();
      await pool.close();
      throw error;
    }
    this.byName.set(spec.name, entry);
    if (spec.watch) this.watchFile(entry);
    this.options.log(`ottavo: function '${spec.name}' (id '${pool.functionId}', ${pool.abi} ABI) serves with ${spec.instances} instance(s) (${runsInWords[runsIn]})`);
    if (rewriting !== undefined) this.moveWhenRewritten(entry, spec, rewriting);
    return this.statusOf(entry);
  }

  /** Replaces a function's module (and settings): new calls go to the new instances once they are up; calls in flight finish on the old ones. */
  async update(spec: FunctionSpec, why: "update" | "rewritten" = "update"): Promise<FunctionStatus> {
    const entry = this.byName.get(spec.name);
    if (!entry) throw new ConnectError(`function '${spec.name}' is not installed`, Code.NotFound);
    const run = entry.updating.then(async () => {
      this.checkSubscriptions(spec);
      const handlers = spec.components === entry.spec.components ? entry.handlers : this.options.handlersFor(spec.components);
      const { pool, runsIn, rewriting } = await this.startPool(spec, handlers);
      try {
        this.checkAbiTakesEvents(spec, pool.abi);
      } catch (error) {
        await pool.close();
        throw error;
      }
      const resubscribe = !sameSubscriptions(entry.spec.subscriptions, spec.subscriptions);
      const old = entry.pool;
      entry.pool = pool;
      entry.runsIn = runsIn;
      entry.spec = spec;
      entry.handlers = handlers;
      if (pool.functionId !== old.functionId) {
        entry.unregister?.();
        this.register(entry);
      }
      if (resubscribe) {
        await entry.subscribed?.close();
        entry.subscribed = undefined;
        entry.subscribed = await this.subscribe(entry, spec.subscriptions);
      }
      this.options.log(
        why === "rewritten" && runsIn === "asyncify"
          ? `ottavo: function '${spec.name}' moved to the main thread (${runsInWords[runsIn]})`
          : `ottavo: function '${spec.name}' updated (id '${pool.functionId}')`,
      );
      if (rewriting !== undefined) this.moveWhenRewritten(entry, spec, rewriting);
      await old.drainAndClose();
    });
    entry.updating = run.catch(() => undefined);
    await run;
    return this.statusOf(entry);
  }

  /**
   * auto's function whose module is being rewritten by asyncify serves from worker
   * threads meanwhile (its cold start is a worker's); once the rewrite is done, the
   * function is updated to the same spec, which now finds the rewrite remembered and
   * runs on the main thread (calls in flight finish in the workers). Nothing happens
   * when the function was updated or removed meanwhile; a failed rewrite leaves it in
   * the workers, said in the log.
   */
  private moveWhenRewritten(entry: Installed, spec: FunctionSpec, rewriting: Promise<unknown>): void {
    rewriting.then(
      () => {
        if (this.closed || this.byName.get(spec.name) !== entry || entry.spec !== spec) return;
        this.update(spec, "rewritten").catch((error: unknown) =>
          this.options.log(`ottavo: warning: function '${spec.name}' stays in worker threads: ${error instanceof Error ? error.message : String(error)}`),
        );
      },
      (error: unknown) => this.options.log(`ottavo: function '${spec.name}' stays in worker threads: its host calls wait, and ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  async uninstall(name: string): Promise<void> {
    const entry = this.byName.get(name);
    if (!entry) throw new ConnectError(`function '${name}' is not installed`, Code.NotFound);
    this.byName.delete(name);
    entry.unregister?.();
    await entry.subscribed?.close();
    entry.watcher?.close();
    clearTimeout(entry.reloadTimer);
    await entry.pool.drainAndClose();
    this.options.log(`ottavo: function '${name}' uninstalled`);
  }

  list(): FunctionStatus[] {
    return [...this.byName.values()].map((e) => this.statusOf(e));
  }

  /** Whether id names a function (its reported id, or its name). */
  has(id: string): boolean {
    return this.find(id) !== undefined;
  }

  ids(): string[] {
    return [...this.byName.values()].map((e) => e.pool.functionId ?? e.spec.name);
  }

  /** Calls the function with that id; throws FunctionCallError (NOT_FOUND for an unknown id). */
  async call(id: string, call: FunctionCall): Promise<FunctionAnswer> {
    const entry = this.find(id);
    if (entry === undefined) throw new FunctionCallError(`no function has id '${id}'`, Code.NotFound);
    return this.callEntry(entry, id, call);
  }

  private async callEntry(entry: Installed, id: string, call: FunctionCall): Promise<FunctionAnswer> {
    const pool = entry.pool;
    if (pool.abi === "proxy-wasm") {
      const headers: [string, string][] = [["id", id], ...call.headers.filter(([k]) => k.toLowerCase() !== "id").map(([k, v]): [string, string] => [k, v])];
      // As MOSN hands a GET to Layotto's functions: with no body, the query string is the body.
      const body = call.data.length > 0 ? call.data : encoder.encode(call.query);
      const out = await pool.invoke({ abi: "proxy-wasm", headers, body });
      if (out.status !== 0) throw new FunctionCallError(decoder.decode(out.body), out.status as Code);
      const contentType = out.headers?.find(([k]) => k.toLowerCase() === "content-type")?.[1] ?? "text/plain; charset=utf-8";
      return { status: out.httpStatus ?? 200, contentType, data: out.body, headers: out.headers ?? [] };
    }
    const request = create(CommonInvokeRequestSchema, {
      method: call.method,
      data: { typeUrl: "", value: call.data },
      contentType: call.contentType,
      httpExtension: { verb: verbOf(call.verb), querystring: call.query },
    });
    const out = await pool.invoke({ abi: "ottavo", request: toBinary(CommonInvokeRequestSchema, request) });
    if (out.status !== 0) throw new FunctionCallError(decoder.decode(out.body), out.status as Code);
    let response;
    try {
      response = fromBinary(InvokeResponseSchema, out.body);
    } catch (error) {
      throw new FunctionCallError(`function '${entry.spec.name}' answered bytes that are not an InvokeResponse: ${String(error)}`, Code.Internal);
    }
    return { status: 200, contentType: response.contentType, data: response.data?.value ?? new Uint8Array(0), headers: [] };
  }

  /**
   * Answers one host call ("ottavo.get_state", ...: the op a guest's import posts) here
   * on the main thread, as the bridge answers a guest's, for the components a function
   * granted those would be: the same pipeline, handlers and error mapping, without a guest
   * or the bridge (the benchmark's "same handler from JS").
   */
  hostCallFromJs(op: string, request: Uint8Array, components?: readonly string[]): Promise<BridgeAnswer> {
    return this.hostCall(this.options.handlersFor(components), op, request);
  }

  /** Resolves once a spare worker thread has loaded the instance script (at once when the host has started no function). */
  async spareReady(): Promise<void> {
    await this.spares?.whenReady();
  }

  /** Resolves once no asyncify rewrite is queued or running and its thread has ended. */
  rewritesIdle(): Promise<void> {
    return asyncifyIdle();
  }

  /** The compiled-module cache's counts (compiles, hits, modules held). */
  moduleCacheStats(): ModuleCacheStats {
    return this.modules.stats();
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.byName.values()];
    this.byName.clear();
    for (const e of entries) {
      e.unregister?.();
      e.watcher?.close();
      clearTimeout(e.reloadTimer);
    }
    await Promise.all(entries.map((e) => e.subscribed?.close()));
    await this.spares?.close();
    await this.options.subscriptions?.shutdown();
    await Promise.all(entries.map((e) => e.pool.drainAndClose()));
  }

  private checkSubscriptions(spec: FunctionSpec): void {
    if (spec.subscriptions.length === 0) return;
    if (this.options.subscriptions === undefined) throw new ConnectError(`function '${spec.name}' has subscriptions, but this host delivers no events`, Code.InvalidArgument);
    this.options.subscriptions.check(spec.name, spec.subscriptions);
  }

  /** Events reach a function as an OnTopicEvent request in Ottavo's ABI; Layotto's proxy-wasm functions take HTTP requests only. */
  private checkAbiTakesEvents(spec: FunctionSpec, abi: string | undefined): void {
    if (spec.subscriptions.length > 0 && abi !== "ottavo") {
      throw new ConnectError(`function '${spec.name}' speaks the ${abi} ABI, which has no topic events; subscriptions need a function on Ottavo's ABI`, Code.InvalidArgument);
    }
  }

  /** Subscribes the function to its topics; each event is an invocation of whichever module the function runs then. */
  private async subscribe(entry: Installed, subscriptions: readonly FunctionSubscription[]): Promise<SubscriptionSet | undefined> {
    if (subscriptions.length === 0 || this.options.subscriptions === undefined) return undefined;
    return this.options.subscriptions.open(entry.spec.name, subscriptions, (call) => this.callEntry(entry, entry.pool.functionId ?? entry.spec.name, call));
  }

  /** Makes the function a target of InvokeService: a registered id wins over other routes, as the registry documents. */
  private register(entry: Installed): void {
    const id = entry.pool.functionId ?? entry.spec.name;
    entry.unregister = this.options.registerTarget?.(id, {
      description: `wasm function '${entry.spec.name}'`,
      invoke: async (request: InvocationRequest): Promise<InvocationResponse> => {
        const answer = await this.call(id, request);
        return { status: answer.status, contentType: answer.contentType, data: answer.data, headers: answer.headers };
      },
    });
  }

  private find(id: string): Installed | undefined {
    for (const e of this.byName.values()) if (e.pool.functionId === id) return e;
    return this.byName.get(id);
  }

  private statusOf(e: Installed): FunctionStatus {
    return {
      name: e.spec.name,
      id: e.pool.functionId ?? e.spec.name,
      abi: e.pool.abi ?? "",
      path: e.spec.path,
      configuredInstances: e.spec.instances,
      execution: e.runsIn,
      ...e.pool.stats(),
    };
  }

  private resolvePath(path: string): string {
    return isAbsolute(path) ? path : resolve(this.options.configDir, path);
  }

  /**
   * Loads, places and starts a function's pool. rewriting: auto chose asyncify, but the
   * rewrite is under way: the pool runs in workers until it is done (moveWhenRewritten).
   */
  private async startPool(spec: FunctionSpec, handlers: RuntimeHandlerGroups): Promise<{ pool: FunctionPool; runsIn: RunsIn; rewriting?: Promise<unknown> }> {
    const path = this.resolvePath(spec.path);
    const atOnce = spec.execution === "worker" ? undefined : this.options.atOnceFor?.(spec.components);
    let lease: ModuleLease;
    let runsIn: RunsIn;
    let metered = false;
    let rewriting: Promise<unknown> | undefined;
    try {
      const capped = capMemoryPages(await readFile(path), spec.maxMemoryPages);
      // A function that may run on the main thread is metered at load (its imports are read on the way); a worker runs the module as it is.
      let fueled: Instrumented | undefined;
      if (atOnce !== undefined) {
        try {
          fueled = addFuelCached(capped, fuelTank);
        } catch (error) {
          if (!(error instanceof FuelError)) throw error;
          this.options.log(`ottavo: function '${spec.name}' cannot be fuel-metered (${error.message}); on the main thread, V8's watchdog bounds its CPU time`);
        }
      }
      if (fueled !== undefined) {
        const placed = this.placement(spec, fueled.imports, atOnce);
        runsIn = placed.runsIn;
        let bytes = runsIn === "worker" ? capped : fueled.bytes;
        // Metered first, then asyncify: the pass sees the fuel checks as ordinary code (skipped while the guest rewinds) and refuel as an import that never waits.
        const refusal = runsIn === "asyncify" ? asyncifyRefusal(fueled.bytes) : undefined;
        const done = runsIn === "asyncify" ? asyncifyDone(fueled.bytes, placed.waiting) : undefined;
        if (refusal !== undefined) {
          if (spec.execution === "asyncify") throw new ConnectError(`function '${spec.name}': execution asyncify, but ${refusal}`, Code.InvalidArgument);
          this.options.log(`ottavo: function '${spec.name}' runs in worker threads: its host calls wait, and ${refusal}`);
          runsIn = "worker";
          bytes = capped;
        } else if (done !== undefined) bytes = done;
        else if (runsIn === "asyncify" && spec.execution === "auto") {
          // The rewrite takes from a fraction of a second to seconds: the function starts in workers meanwhile.
          rewriting = asyncify(fueled.bytes, placed.waiting);
          runsIn = "worker";
          bytes = capped;
        } else if (runsIn === "asyncify") {
          try {
            bytes = await asyncify(fueled.bytes, placed.waiting);
          } catch (error) {
            if (!(error instanceof AsyncifyError)) throw error;
            throw new ConnectError(`function '${spec.name}': execution asyncify, but ${error.message}`, Code.InvalidArgument);
          }
        }
        metered = runsIn !== "worker";
        lease = await this.modules.acquire(bytes);
      } else {
        lease = await this.modules.acquire(capped);
        const imports = WebAssembly.Module.imports(lease.module).map((i) => ({ module: i.module, name: i.name, kind: i.kind === "function" ? 0 : 1 }));
        try {
          const placed = this.placement(spec, imports, atOnce);
          // Suspending needs fuel metering (V8's watchdog cannot span the waits): a module that cannot be metered waits in a worker.
          if (placed.runsIn === "asyncify" && spec.execution === "asyncify") throw new ConnectError(`function '${spec.name}': execution asyncify, but the module cannot be fuel-metered`, Code.InvalidArgument);
          runsIn = placed.runsIn === "asyncify" ? "worker" : placed.runsIn;
        } catch (error) {
          lease.release();
          throw error;
        }
      }
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      throw new ConnectError(`function '${spec.name}': cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`, Code.InvalidArgument);
    }
    const log = (level: number, line: string) => this.options.log(`function '${spec.name}'${level >= 3 ? (level >= 4 ? " error" : " warning") : ""}: ${line}`);
    const setup = {
      functionName: spec.name,
      module: lease.module,
      ottavoImports: [...this.imports.keys()],
      abiVersion: wasmAbiVersion,
      vmConfig: new Uint8Array(0),
      pluginConfig: new Uint8Array(0),
    };
    let startInstance: () => PoolInstance;
    if (runsIn === "inline" || runsIn === "asyncify") {
      const at = atOnce!;
      const waits = runsIn === "asyncify";
      // Inline, every host call is answered at once; asyncify, those with an answer at once are (no suspension) and the others wait, the guest suspended.
      const options = {
        setup,
        metered,
        cpuLimitMs: spec.cpuLimitMs,
        bufferCapBytes: spec.bufferCapBytes,
        hostCallFor: (op: string) => (!waits || this.answersAtOnce(op, at) ? this.atOnceCaller(at.groups, op) : undefined),
        ...(waits ? { hostCallWaiting: (op: string, request: Uint8Array) => this.hostCall(handlers, op, request) } : {}),
        log,
      };
      startInstance = () => new InlineInstance(options);
    } else {
      if (!this.closed) this.spares ??= new WorkerSpares();
      const options = {
        ...setup,
        bufferCapBytes: spec.bufferCapBytes,
        cpuLimitMs: spec.cpuLimitMs,
        hostCall: (op: string, request: Uint8Array) => this.hostCall(handlers, op, request),
        takeWorker: () => this.spares?.take(),
        log,
      };
      startInstance = () => new FunctionInstance(options);
    }
    const pool = new FunctionPool(spec.instances, startInstance, acquireTimeoutMs);
    // The module stays in the cache while a pool of it runs (in-flight calls of a replaced pool included).
    pool.whenClosed(() => lease.release());
    try {
      await pool.start();
    } catch (error) {
      throw new ConnectError(`function '${spec.name}': cannot start ${path}: ${error instanceof Error ? error.message : String(error)}`, Code.InvalidArgument);
    }
    return { pool, runsIn, rewriting };
  }

  /**
   * Where a function runs, from its execution setting, the module's imports (a module
   * cannot call what it does not import) and the components it is granted: inline when
   * every host call it imports can be answered at once; asyncify when some have to wait
   * (those, as `module.name`, in waiting); auto puts either on the main thread only
   * within autoMainThreadMaxCpuMs, else a worker.
   */
  private placement(spec: FunctionSpec, imports: Instrumented["imports"], atOnce: AtOnceHandlers | undefined): { runsIn: RunsIn; waiting: string[] } {
    const worker = { runsIn: "worker" as const, waiting: [] };
    if (spec.execution === "worker") return worker;
    if (atOnce === undefined) {
      if (spec.execution !== "auto") throw new ConnectError(`function '${spec.name}': this host runs no function on the main thread (execution: ${spec.execution})`, Code.InvalidArgument);
      return worker;
    }
    const waiting: string[] = [];
    for (const i of imports) {
      if (i.kind !== 0) continue;
      const op = i.module === "ottavo" ? `ottavo.${i.name}` : i.module === "env" ? proxyHostCallImports[i.name] : undefined;
      if (op !== undefined && this.callAt(op) !== undefined && !this.answersAtOnce(op, atOnce)) waiting.push(`${i.module}.${i.name}`);
    }
    if (spec.execution === "inline") return { runsIn: "inline", waiting };
    if (waiting.length === 0) return spec.execution === "auto" && spec.cpuLimitMs > autoMainThreadMaxCpuMs ? worker : { runsIn: "inline", waiting };
    if (spec.execution === "auto" && spec.cpuLimitMs > autoMainThreadMaxCpuMs) return worker;
    return { runsIn: "asyncify", waiting };
  }

  /** Whether host call op has a synchronous form over every component of its capability that the function is granted. */
  private answersAtOnce(op: string, atOnce: AtOnceHandlers): boolean {
    const at = this.callAt(op);
    if (at === undefined) return true;
    return atOnce.groups[at.group]?.[at.rpc as never] !== undefined && atOnce.answersAtOnce(at.group);
  }

  /** The handler group and rpc (its handler's name) of a host call, or undefined for the ABI's own imports (output, log). */
  private callAt(op: string): { group: keyof RuntimeSyncHandlerGroups; rpc: string } | undefined {
    const imp = op.startsWith("ottavo.") ? this.imports.get(op.slice("ottavo.".length)) : undefined;
    const rpc = imp?.rpc ?? proxyRpcs[op];
    if (rpc === undefined) return undefined;
    const group = imp?.group ?? (rpc === "GetState" ? "state" : "kernel");
    return { group, rpc: rpc[0].toLowerCase() + rpc.slice(1) };
  }

  /**
   * One host call of a guest, answered by the runtime's handlers through the pipeline
   * (the rpc's CallInfo with protocol "wasm"): a step's refusal and a handler's error
   * reach the guest mapped as a gRPC client gets them.
   */
  private async hostCall(handlers: RuntimeHandlerGroups, op: string, request: Uint8Array): Promise<BridgeAnswer> {
    const known = this.hostOps.get(op);
    if (known === undefined) return failure(Code.Unimplemented, `unknown host call ${op}`);
    const call = this.beginHostCall(known);
    if (call instanceof HostCallRefused) return call.answer;
    const context = call.context;
    try {
      const body = await this.answerHostCall(handlers, op, known.imp, request, context);
      call.started.end();
      return { status: 0, body };
    } catch (error) {
      const e = call.started.end(error, context.recordedValues())!;
      return failure(e.code, e.rawMessage);
    }
  }

  /**
   * An inline function's host call op, answered on the spot by the synchronous handlers
   * through the same pipeline steps; a call with no synchronous form answers
   * FAILED_PRECONDITION (the function should run in a worker). What depends only on
   * the op (its import, rpc, the handler to call) is looked up here, once.
   */
  private atOnceCaller(groups: RuntimeSyncHandlerGroups, op: string): (request: Uint8Array) => BridgeAnswer {
    const known = this.hostOps.get(op);
    if (known === undefined) return () => failure(Code.Unimplemented, `unknown host call ${op}`);
    const answer = atOnceAnswer(groups, op, known.imp);
    return (request) => {
      const call = this.beginHostCall(known);
      if (call instanceof HostCallRefused) return call.answer;
      const context = call.context;
      try {
        const body = answer(request, context);
        call.started.end();
        return { status: 0, body };
      } catch (error) {
        const e = call.started.end(error, context.recordedValues())!;
        return failure(e.code, e.rawMessage);
      }
    };
  }

  /**
   * A host call's context and started pipeline; or, when a step refused it, the answer.
   * The steps see a CallInfo whose context values are made only if a step asks for them
   * (tracing), and the handler's context gets those.
   */
  private beginHostCall(op: HostOp): HostCallBegun | HostCallRefused {
    if (!this.pipeline.active) return new HostCallBegun(op.context(undefined), this.pipeline.unobserved);
    const info = new HostCallInfo(op.rpc);
    let started: StartedCall;
    try {
      started = this.pipeline.start(info);
    } catch (refused) {
      const e = ConnectError.from(refused);
      return new HostCallRefused(failure(e.code, e.rawMessage));
    }
    return new HostCallBegun(op.context(info.setValues), started);
  }

  private async answerHostCall(handlers: RuntimeHandlerGroups, op: string, imp: WasmHostImport | undefined, request: Uint8Array, context: HandlerContext): Promise<Uint8Array> {
    if (imp !== undefined) {
      if (imp.rpc === "InvokeService") return this.invokeFunctionOrKernel(imp, handlers, request, context);
      return imp.call(handlers, request, context);
    }
    if (op === "proxy.get_state") {
      const answer = await handlers.state.getState(proxyGetStateRequest(request), context);
      return answer.data ?? new Uint8Array(0);
    }
    const fields = unpackFields(request);
    const [id, method] = fields.map((f) => decoder.decode(f));
    const answer = await this.invokeService(id, { method, verb: "POST", query: "", contentType: "", data: fields[2] ?? new Uint8Array(0), headers: [] });
    return answer.data;
  }

  /** The ottavo invoke_service import: a function id is called here, any other id goes to the kernel's handler. */
  private async invokeFunctionOrKernel(imp: WasmHostImport, handlers: RuntimeHandlerGroups, request: Uint8Array, context: HandlerContext): Promise<Uint8Array> {
    let invoke;
    try {
      invoke = fromBinary(InvokeServiceRequestSchema, request);
    } catch (error) {
      throw new ConnectError(`the request does not decode as ${InvokeServiceRequestSchema.typeName}: ${error instanceof Error ? error.message : String(error)}`, Code.InvalidArgument);
    }
    if (!this.has(invoke.id)) return imp.call(handlers, request, context);
    const message = invoke.message;
    const verb = message?.httpExtension?.verb ?? HTTPExtension_Verb.NONE;
    const answer = await this.call(invoke.id, {
      method: message?.method ?? "",
      verb: verb === HTTPExtension_Verb.NONE ? "POST" : HTTPExtension_Verb[verb],
      query: message?.httpExtension?.querystring ?? "",
      contentType: message?.contentType ?? "",
      data: message?.data?.value ?? new Uint8Array(0),
      headers: [],
    });
    const response = create(InvokeResponseSchema, { data: { value: answer.data }, contentType: answer.contentType });
    return toBinary(InvokeResponseSchema, response);
  }

  /** InvokeService from inside a function: a function id goes to that function, any other id to the kernel. */
  private invokeService(id: string, call: FunctionCall): Promise<FunctionAnswer> {
    if (this.has(id)) return this.call(id, call);
    if (this.options.invokeOther) return this.options.invokeOther(id, call);
    throw new ConnectError(`no function or service has id '${id}'`, Code.NotFound);
  }

  private watchFile(entry: Installed): void {
    try {
      entry.watcher = watch(this.resolvePath(entry.spec.path), () => {
        clearTimeout(entry.reloadTimer);
        entry.reloadTimer = setTimeout(() => {
          if (this.closed || this.byName.get(entry.spec.name) !== entry) return;
          this.update(entry.spec).catch((error: unknown) =>
            this.options.log(`ottavo: warning: function '${entry.spec.name}' kept its module: reload failed: ${error instanceof Error ? error.message : String(error)}`),
          );
        }, reloadDebounceMs);
      });
    } catch (error) {
      this.options.log(`ottavo: warning: function '${entry.spec.name}' is not watched: ${String(error)}`);
    }
  }
}

function sameSubscriptions(a: readonly FunctionSubscription[], b: readonly FunctionSubscription[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const runsInWords: Readonly<Record<RunsIn, string>> = {
  inline: "inline, on the main thread",
  asyncify: "on the main thread, rewritten by asyncify: host calls that wait suspend the guest",
  worker: "in worker threads",
};

/** The rpc each of Layotto's two host calls is, for the pipeline. */
const proxyRpcs: Readonly<Record<string, string>> = { "proxy.get_state": "GetState", "proxy.invoke_service": "InvokeService" };

/** Layotto's proxy_get_state as a GetStateRequest: its packed store name and key. */
function proxyGetStateRequest(request: Uint8Array): GetStateRequest {
  const [storeName, key] = unpackFields(request).map((f) => decoder.decode(f));
  return { $typeName: "spec.proto.runtime.v1.GetStateRequest", storeName, key, metadata: {}, consistency: 0 };
}

/** A host call without a synchronous form, from an inline function. */
function noSyncForm(rpc: string): ConnectError {
  return new ConnectError(
    `${rpc} has no synchronous form, and this function runs inline on the main thread, where host calls cannot wait; run it where host calls can wait (execution: worker or asyncify, or auto, which picks one of those for a module that imports it)`,
    Code.FailedPrecondition,
  );
}

/**
 * What the pipeline's steps see of a host call: the rpc, protocol "wasm", no headers;
 * its context values are made only when a step asks for them, then handed to the
 * handler's context. A class, as HeaderCallInfo is (V8 makes object literals with a
 * getter slow).
 */
class HostCallInfo implements CallInfo {
  readonly service = RuntimeService.typeName;
  readonly protocol = "wasm";
  readonly streaming = false;
  setValues: ContextValues | undefined;

  constructor(readonly method: string) {}

  header(): string | undefined {
    return undefined;
  }

  get values(): ContextValues {
    return (this.setValues ??= new CallValues());
  }
}

/** A host call the steps let in: the handler's context and the started pipeline. */
class HostCallBegun {
  constructor(
    readonly context: UnaryCallContext,
    readonly started: StartedCall,
  ) {}
}

/** A host call a step refused: the guest's answer. */
class HostCallRefused {
  constructor(readonly answer: BridgeAnswer) {}
}

/** A host call as every call of it starts: its import (none for Layotto's two), rpc, and the context its handler gets. */
interface HostOp {
  readonly imp: WasmHostImport | undefined;
  readonly rpc: string;
  /** A new context for one call of it, with the values the steps made (if any). */
  context(values: ContextValues | undefined): UnaryCallContext;
}

/** The request headers of every host call: none. */
const noHeaders: Readonly<Record<string, never>> = Object.freeze({});

/**
 * A host call prepared once: the rpc's descriptor and path are looked up here, not per
 * call. Its calls' context is the API's lazy unary context: its signal, headers and
 * values are made only when something reads them (an AbortController per host call was
 * most of an inline call's cost). No deadline of its own: the guest's CPU limit and the
 * backend's timeouts bound a host call.
 */
function hostOp(imp: WasmHostImport | undefined, rpc: string): HostOp {
  const method = (runtimeMethods.get(rpc) ?? RuntimeService.methods[0]) as DescMethodUnary;
  const path = `/${RuntimeService.typeName}/${method.name}`;
  return { imp, rpc, context: (values) => new UnaryCallContext(method, noHeaders, undefined, values, "wasm", path) };
}

/** How an inline function's host call op is answered at once: the generated import's callSync, Layotto's get_state, or a refusal. */
function atOnceAnswer(groups: RuntimeSyncHandlerGroups, op: string, imp: WasmHostImport | undefined): (request: Uint8Array, context: HandlerContext) => Uint8Array {
  if (imp !== undefined) {
    return (request, context) => {
      const body = imp.callSync(groups, request, context);
      if (body === undefined) throw noSyncForm(imp.rpc);
      return body;
    };
  }
  if (op === "proxy.get_state") {
    return (request, context) => {
      const getState = groups.state?.getState;
      if (getState === undefined) throw noSyncForm("GetState");
      return getState(proxyGetStateRequest(request), context).data ?? new Uint8Array(0);
    };
  }
  return () => {
    throw noSyncForm(proxyRpcs[op] ?? op);
  };
}

function failure(code: Code, message: string): BridgeAnswer {
  return { status: code, body: encoder.encode(message) };
}

/** Runtime's rpcs by name. */
const runtimeMethods = new Map(RuntimeService.methods.map((m) => [m.name, m]));

function verbOf(verb: string): HTTPExtension_Verb {
  const v = HTTPExtension_Verb[verb.toUpperCase() as keyof typeof HTTPExtension_Verb];
  return typeof v === "number" ? v : HTTPExtension_Verb.NONE;
}

/** An unusable function request from outside (the actuator): which field and why. */
export function functionError(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

export type { InvocationOutput };
