import "./webassembly-api";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { BridgeServer, bridgeOps, createBridgeBuffer, type BridgeAnswer } from "./host-bridge";
import type { FromWorker, GuestAbi, InvocationInput, InvocationOutput, ToWorker, WorkerSetup } from "./worker-protocol";

/** Answers one host call of a guest: op ("ottavo.get_state", "proxy.invoke_service", ...) and its request bytes. */
export type HostCallHandler = (op: string, request: Uint8Array) => Promise<BridgeAnswer>;

export interface InstanceOptions {
  readonly functionName: string;
  readonly module: WebAssembly.Module;
  readonly ottavoImports: readonly string[];
  readonly abiVersion: number;
  readonly bufferCapBytes: number;
  /** CPU time one invocation may spend in the guest (host calls excluded). */
  readonly cpuLimitMs: number;
  readonly vmConfig: Uint8Array;
  readonly pluginConfig: Uint8Array;
  readonly hostCall: HostCallHandler;
  readonly log: (level: number, line: string) => void;
  /** A spare worker, already started (WorkerSpares); a new one is started when absent. */
  readonly takeWorker?: () => Worker | undefined;
}

/** The invocation in flight, and its CPU-time clock: the guest's time is the wall time less its host calls'. */
interface Invocation {
  readonly seq: number;
  readonly resolve: (o: InvocationOutput) => void;
  readonly startedAt: number;
  /** Time spent in host calls that have been answered. */
  hostMs: number;
  /** Set while a host call is in flight. */
  pausedAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** Why an instance cannot serve any more. */
export type InstanceEnd = "trap" | "cpu-limit" | "exit" | "closed";

/** gRPC's DEADLINE_EXCEEDED and INTERNAL, as invocation statuses. */
const deadlineExceeded = 4;
const internal = 13;

/**
 * The worker script: compiled JavaScript beside this file; from the bundled command
 * (dist/ottavo.js), in dist/wasm/; when this file runs from TypeScript sources (the
 * tests), the package's build output.
 */
function workerScript(): string {
  const candidates = [join(__dirname, "instance-worker.js"), join(__dirname, "wasm", "instance-worker.js")];
  return candidates.find((file) => existsSync(file)) ?? join(__dirname, "..", "..", "dist", "wasm", "instance-worker.js");
}

/**
 * One instance of a function: a worker thread running the module, serving one
 * invocation at a time. While the guest runs, a CPU-time budget counts down; it
 * pauses during host calls (their time is the backend's). Past the budget the
 * worker is terminated: the call answers DEADLINE_EXCEEDED and the instance ends.
 */
export class FunctionInstance {
  private readonly worker: Worker;
  private readonly bridge: BridgeServer;
  private seq = 0;
  private current: Invocation | undefined;
  private endReason: InstanceEnd | undefined;
  private readonly onEnd: ((reason: InstanceEnd, detail: string) => void)[] = [];
  readonly ready: Promise<{ abi: GuestAbi; functionId: string }>;

  constructor(private readonly options: InstanceOptions) {
    const bridgeBuffer = createBridgeBuffer(options.bufferCapBytes);
    this.bridge = new BridgeServer(bridgeBuffer, bridgeOps(options.ottavoImports), (op, request) => this.hostCall(op, request));
    const setup: WorkerSetup = {
      module: options.module,
      functionName: options.functionName,
      bridge: bridgeBuffer,
      ottavoImports: options.ottavoImports,
      abiVersion: options.abiVersion,
      vmConfig: options.vmConfig,
      pluginConfig: options.pluginConfig,
    };
    const spare = options.takeWorker?.();
    if (spare !== undefined) {
      this.worker = spare;
      this.worker.ref();
      this.worker.postMessage({ t: "setup", setup } satisfies ToWorker);
    } else this.worker = new Worker(workerScript(), { workerData: setup, stdout: false, stderr: false });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on("message", (m: FromWorker) => {
        if (m.t === "ready") resolve({ abi: m.abi, functionId: m.functionId });
        else if (m.t === "failed") {
          reject(new Error(m.error));
          void this.end("trap", m.error);
        } else this.onMessage(m);
      });
      this.worker.on("error", (error) => {
        reject(error);
        void this.end("trap", error.message);
      });
      this.worker.on("exit", () => {
        reject(new Error("the instance's worker exited while starting"));
        void this.end(this.endReason ?? "exit", "the worker exited");
      });
    });
    // A start failure is reported through ready; nobody else needs to see it.
    this.ready.catch(() => undefined);
  }

  get alive(): boolean {
    return this.endReason === undefined;
  }

  whenEnded(listener: (reason: InstanceEnd, detail: string) => void): void {
    this.onEnd.push(listener);
  }

  invoke(input: InvocationInput): Promise<InvocationOutput> {
    if (this.current) throw new Error("an instance serves one invocation at a time");
    if (!this.alive) return Promise.resolve({ status: internal, body: new TextEncoder().encode("the instance has ended") });
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const c: Invocation = { seq, resolve, startedAt: performance.now(), hostMs: 0, pausedAt: undefined, timer: undefined };
      c.timer = setTimeout(() => this.checkClock(c), this.options.cpuLimitMs);
      this.current = c;
      this.worker.postMessage({ t: "invoke", seq, input });
    });
  }

  /** Stops the worker; an invocation in flight answers with why. */
  async close(): Promise<void> {
    await this.end("closed", "the function was stopped");
  }

  /**
   * The invocation's timer fired: the guest's time so far is the time since the start
   * less the host calls'. Past the limit the instance is stopped; otherwise the timer
   * waits for the rest. (Host calls only note their times: no timer per host call.)
   */
  private checkClock(c: Invocation): void {
    if (this.current !== c) return;
    const now = performance.now();
    const guestMs = (c.pausedAt ?? now) - c.startedAt - c.hostMs;
    const leftMs = this.options.cpuLimitMs - guestMs;
    if (leftMs <= 0) void this.cpuLimitHit();
    else c.timer = setTimeout(() => this.checkClock(c), leftMs);
  }

  /** One host call of the guest (the bridge's request): the guest's clock stops while the handler runs. */
  private hostCall(op: string, request: Uint8Array): void {
    const c = this.current;
    if (c) c.pausedAt = performance.now();
    this.options
      .hostCall(op, request)
      .catch((error: unknown): BridgeAnswer => ({ status: internal, body: new TextEncoder().encode(String(error)) }))
      .then((answer) => {
        if (!this.alive) return;
        if (c && c.pausedAt !== undefined) {
          c.hostMs += performance.now() - c.pausedAt;
          c.pausedAt = undefined;
        }
        this.bridge.answer(answer);
      });
  }

  private async cpuLimitHit(): Promise<void> {
    await this.end("cpu-limit", `the invocation ran past its CPU-time limit of ${this.options.cpuLimitMs} ms; the instance was stopped`);
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case "log":
        this.options.log(m.level, m.line);
        return;
      case "done": {
        const c = this.current;
        if (!c || c.seq !== m.seq) return;
        clearTimeout(c.timer);
        this.current = undefined;
        c.resolve(m.output);
        if (m.broken) void this.end(/exited with code/.test(new TextDecoder().decode(m.output.body)) ? "exit" : "trap", new TextDecoder().decode(m.output.body));
        return;
      }
      default:
        return;
    }
  }

  private async end(reason: InstanceEnd, detail: string): Promise<void> {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    this.bridge.close();
    const c = this.current;
    this.current = undefined;
    if (c) {
      clearTimeout(c.timer);
      c.resolve({ status: reason === "cpu-limit" ? deadlineExceeded : internal, body: new TextEncoder().encode(detail) });
    }
    for (const listener of this.onEnd) listener(reason, detail);
    await this.worker.terminate();
  }
}

/**
 * One worker thread started ahead of need, with the instance script loaded and no
 * function yet, so that an instance start (install, update, a restart after a trap)
 * skips the thread's start-up: take() hands it over and starts the next spare. The
 * spare does not keep the process alive (unref'd); close() ends it.
 */
export class WorkerSpares {
  private spare: Worker | undefined;
  private closed = false;
  /** Whether the current spare has loaded the instance script; who waits for that. */
  private loaded = false;
  private waiting: (() => void)[] = [];

  constructor() {
    this.spare = this.startOne();
  }

  take(): Worker | undefined {
    if (this.closed) return undefined;
    const taken = this.spare;
    this.spare = undefined;
    this.loaded = false;
    // The next spare starts once this instance has had its turn at the CPU.
    setImmediate(() => {
      if (!this.closed && this.spare === undefined) this.spare = this.startOne();
    });
    return taken;
  }

  /** Resolves once a spare has loaded the instance script (at once when one has; when closed). */
  whenReady(): Promise<void> {
    if (this.closed || (this.spare !== undefined && this.loaded)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    const spare = this.spare;
    this.spare = undefined;
    for (const resolve of this.waiting.splice(0)) resolve();
    await spare?.terminate();
  }

  private startOne(): Worker {
    const worker = new Worker(workerScript(), { stdout: false, stderr: false });
    worker.unref();
    // A spare that dies (it should not) is simply not used.
    worker.once("exit", () => {
      if (this.spare === worker) this.spare = undefined;
    });
    worker.on("error", () => undefined);
    const onMessage = (m: FromWorker) => {
      if (m.t !== "spare") return;
      worker.off("message", onMessage);
      if (this.spare !== worker) return;
      this.loaded = true;
      for (const resolve of this.waiting.splice(0)) resolve();
    };
    worker.on("message", onMessage);
    return worker;
  }
}
