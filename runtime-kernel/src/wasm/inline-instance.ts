import "./webassembly-api";
import { createContext, Script } from "node:vm";
import { bridgeOps, type BridgeAnswer } from "./host-bridge";
import type { HostCalls } from "./host-calls";
import type { InstanceEnd } from "./function-instance";
import type { PoolInstance } from "./function-pool";
import { fuelImport } from "./fuel";
import { GuestRunner, brokenOutput, type GuestSetup } from "./guest-runner";
import { GuestExit } from "./wasi-shim";
import type { GuestAbi, InvocationInput, InvocationOutput } from "./worker-protocol";

/** gRPC codes, as invocation and host-call statuses. */
const deadlineExceeded = 4;
const resourceExhausted = 8;
const internal = 13;

const encoder = new TextEncoder();

export interface InlineInstanceOptions {
  /** The module in setup is fuel-metered (fuel.ts) when metered; else V8's watchdog bounds it. */
  readonly setup: GuestSetup;
  readonly metered: boolean;
  /** Time one invocation (and the module's start) may run, host calls included (they answer at once). */
  readonly cpuLimitMs: number;
  /** Largest request or answer of one host call, as the bridge's buffer bounds a worker's. */
  readonly bufferCapBytes: number;
  /** How one host call op ("ottavo.get_state", ...) is answered on the spot (the synchronous handlers); asked once per op. */
  readonly hostCallFor: (op: string) => (request: Uint8Array) => BridgeAnswer;
  readonly log: (level: number, line: string) => void;
}

/**
 * One instance of a function on the main thread: no worker and no bridge, so a host
 * call costs what its handler costs. Every host call it makes is answered at once by
 * the synchronous handlers (components that cannot answer so answer
 * FAILED_PRECONDITION). The CPU limit: the module is fuel-metered (fuel.ts): past the
 * deadline its next loop header or function entry traps. A module the rewriter
 * cannot meter runs under V8's watchdog instead (vm's timeout: TerminateExecution,
 * honoured at wasm loop headers and function entries; a thread per run, so dearer).
 * Either way a guest that never returns is stopped at its CPU limit and answers
 * DEADLINE_EXCEEDED; like a trap, that ends the instance and the pool starts another.
 */
export class InlineInstance implements PoolInstance {
  private readonly guest: GuestRunner;
  private endReason: InstanceEnd | undefined;
  private readonly onEnd: ((reason: InstanceEnd, detail: string) => void)[] = [];
  private busy = false;
  /** When the running start or invocation must stop (performance.now()); the fuel import checks it. */
  private deadline = 0;
  /** Set when the fuel import refused more fuel: the trap that follows is the CPU limit. */
  private outOfTime = false;
  readonly ready: Promise<{ abi: GuestAbi; functionId: string }>;

  constructor(private readonly options: InlineInstanceOptions) {
    const added: WebAssembly.Imports = options.metered ? { [fuelImport.module]: { [fuelImport.name]: () => this.refuel() } } : {};
    this.guest = new GuestRunner(options.setup, new AtOnceCalls(options), options.log, added);
    // Started on the next microtask, once the pool has registered its end listener.
    this.ready = Promise.resolve().then(() => {
      try {
        return this.limited(() => this.guest.start());
      } catch (error) {
        const late = this.timedOut(error);
        const detail = late ? `the module's start ran past the CPU-time limit of ${options.cpuLimitMs} ms` : error instanceof Error ? error.message : String(error);
        this.end(late ? "cpu-limit" : "trap", detail);
        throw new Error(detail);
      }
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
    if (this.busy) throw new Error("an instance serves one invocation at a time");
    if (!this.alive) return Promise.resolve({ status: internal, body: encoder.encode("the instance has ended") });
    this.busy = true;
    try {
      return Promise.resolve(this.limited(() => this.guest.invoke(input)));
    } catch (error) {
      if (this.timedOut(error)) {
        const detail = `the invocation ran past its CPU-time limit of ${this.options.cpuLimitMs} ms; the instance was stopped`;
        this.end("cpu-limit", detail);
        return Promise.resolve({ status: deadlineExceeded, body: encoder.encode(detail) });
      }
      // A trap or an exit leaves the guest's state unknown: this instance is not used again.
      const output = brokenOutput(error);
      this.end(error instanceof GuestExit ? "exit" : "trap", new TextDecoder().decode(output.body));
      return Promise.resolve(output);
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    this.end("closed", "the function was stopped");
  }

  /** fn (the start or an invocation) under the CPU limit: fuel's deadline, or V8's watchdog for an unmetered module. */
  private limited<T>(fn: () => T): T {
    if (!this.options.metered) return withinLimit(this.options.cpuLimitMs, fn);
    this.outOfTime = false;
    this.deadline = performance.now() + this.options.cpuLimitMs;
    return fn();
  }

  /** The fuel import: a new tank, or 0 (the guest then traps) past the deadline. */
  private refuel(): number {
    if (performance.now() < this.deadline) return fuelTank;
    this.outOfTime = true;
    return 0;
  }

  private timedOut(error: unknown): boolean {
    return this.outOfTime || (error as { code?: unknown } | null)?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT";
  }

  private end(reason: InstanceEnd, detail: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    for (const listener of this.onEnd) listener(reason, detail);
  }
}

/**
 * An inline instance's host calls: each answered on the spot by the synchronous
 * handlers, within the function's buffer cap as the bridge bounds a worker's.
 */
class AtOnceCalls implements HostCalls {
  private readonly opIndex: ReadonlyMap<string, number>;
  /** Each op's answering function, by the op's number. */
  private readonly callers: readonly ((request: Uint8Array) => BridgeAnswer)[];
  private readonly capBytes: number;
  private answer: BridgeAnswer = { status: 0, body: new Uint8Array(0) };

  constructor(options: InlineInstanceOptions) {
    const ops = bridgeOps(options.setup.ottavoImports);
    this.opIndex = new Map(ops.map((op, i) => [op, i]));
    this.callers = ops.map((op) => options.hostCallFor(op));
    this.capBytes = options.bufferCapBytes;
  }

  opOf(op: string): number {
    const index = this.opIndex.get(op);
    if (index === undefined) throw new Error(`no host call ${op}`);
    return index;
  }

  send(op: number, source: Uint8Array, from: number, length: number): number {
    // A copy: a handler may keep bytes of its request (a value to store), and the guest's memory changes.
    this.answer = this.answerOf(op, source.slice(from, from + length));
    return this.answer.status;
  }

  get answerLength(): number {
    return this.answer.body.length;
  }

  copyAnswer(target: Uint8Array, at: number): void {
    target.set(this.answer.body, at);
  }

  call(op: string, request: Uint8Array): BridgeAnswer {
    return (this.answer = this.answerOf(this.opOf(op), request));
  }

  private answerOf(op: number, request: Uint8Array): BridgeAnswer {
    const cap = this.capBytes;
    if (request.length > cap) return tooLarge(`the request (${request.length} bytes) exceeds the function's buffer cap of ${cap} bytes`);
    let answer: BridgeAnswer;
    try {
      answer = this.callers[op](request);
    } catch (error) {
      answer = { status: internal, body: encoder.encode(String(error)) };
    }
    if (answer.body.length > cap) return tooLarge(`the response (${answer.body.length} bytes) exceeds the function's buffer cap of ${cap} bytes`);
    return answer;
  }
}

function tooLarge(message: string): BridgeAnswer {
  return { status: resourceExhausted, body: encoder.encode(message) };
}

/** A context of its own, so that the watchdog's script needs no global: it calls what `run` holds. */
const sandbox = createContext({ run: undefined as (() => unknown) | undefined });
const callRun = new Script("run()");

/** fn on this thread, terminated by V8 if it runs longer than ms (a timeout error is thrown then). */
function withinLimit<T>(ms: number, fn: () => T): T {
  sandbox.run = fn;
  try {
    return callRun.runInContext(sandbox, { timeout: ms }) as T;
  } finally {
    sandbox.run = undefined;
  }
}

/**
 * Loop iterations and calls between two looks at the clock: the guest reaches the host
 * at least this often, so a look costs it little and the limit is overrun by little.
 */
export const fuelTank = 20_000;
