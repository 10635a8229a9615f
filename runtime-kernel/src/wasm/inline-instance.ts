import "./webassembly-api";
import { createContext, Script } from "node:vm";
import { bridgeOps, type BridgeAnswer } from "./host-bridge";
import { suspendedAnswer, type HostCalls } from "./host-calls";
import { GuestSuspension, unwindBytes } from "./guest-suspension";
import type { InstanceEnd } from "./function-instance";
import type { PoolInstance } from "./function-pool";
import { fuelImport } from "./fuel";
import { GuestRunner, brokenOutput, type GuestSetup } from "./guest-runner";
import { GuestExit } from "./wasi-shim";
import type { GuestAbi, InvocationInput, InvocationOutput } from "./worker-protocol";

/** gRPC codes, as invocation and host-call statuses. */
const deadlineExceeded = 4;
const failedPrecondition = 9;
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
  /**
   * How one host call op ("ottavo.get_state", ...) is answered on the spot (the
   * synchronous handlers); asked once per op. Undefined: the op waits (hostCallWaiting).
   */
  readonly hostCallFor: (op: string) => ((request: Uint8Array) => BridgeAnswer) | undefined;
  /**
   * For a module rewritten by asyncify (asyncify.ts): how a host call that waits is
   * answered (the async handlers); the guest is suspended meanwhile (GuestSuspension).
   */
  readonly hostCallWaiting?: (op: string, request: Uint8Array) => Promise<BridgeAnswer>;
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
 *
 * With hostCallWaiting (execution asyncify: the module rewritten by asyncify.ts after
 * fuel metering), a host call that cannot be answered at once suspends the guest
 * (GuestSuspension): its export returns, the handler's answer is awaited with the
 * guest's clock stopped, and the guest is rewound into the import to take it. The
 * instance stays busy (checked out of its pool) meanwhile; other instances run.
 */
export class InlineInstance implements PoolInstance {
  private readonly guest: GuestRunner;
  /** For a module rewritten by asyncify: how it waits for host calls. */
  private readonly suspension: GuestSuspension | undefined;
  /** When the guest suspended in a host call (performance.now()): its time there does not count. */
  private pausedAt = 0;
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
    if (options.hostCallWaiting !== undefined) {
      if (!options.metered) throw new Error("a module that suspends in host calls must be fuel-metered");
      this.suspension = new GuestSuspension();
    }
    this.guest = new GuestRunner(options.setup, new AtOnceCalls(options, this.suspension), options.log, added, this.suspension);
    const startFailed = (error: unknown): never => {
      const late = this.timedOut(error);
      const detail = late ? `the module's start ran past the CPU-time limit of ${options.cpuLimitMs} ms` : this.describe(error);
      this.end(late ? "cpu-limit" : "trap", detail);
      throw new Error(detail);
    };
    // Started on the next microtask, once the pool has registered its end listener.
    this.ready = Promise.resolve().then(() => {
      if (this.suspension !== undefined) {
        this.deadline = performance.now() + options.cpuLimitMs;
        this.outOfTime = false;
        return this.guest.startResumably(this.paused, this.resumed).catch(startFailed);
      }
      try {
        return this.limited(() => this.guest.start());
      } catch (error) {
        return startFailed(error);
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
    if (this.suspension !== undefined) {
      this.outOfTime = false;
      this.deadline = performance.now() + this.options.cpuLimitMs;
      return this.guest.invokeResumably(input, this.paused, this.resumed).then(
        (output) => {
          this.busy = false;
          return output;
        },
        (error: unknown) => {
          this.busy = false;
          return this.failed(error);
        },
      );
    }
    try {
      return Promise.resolve(this.limited(() => this.guest.invoke(input)));
    } catch (error) {
      return Promise.resolve(this.failed(error));
    } finally {
      this.busy = false;
    }
  }

  /** What an invocation that threw answers; the instance ends (its guest's state is unknown). */
  private failed(error: unknown): InvocationOutput {
    if (this.timedOut(error)) {
      const detail = `the invocation ran past its CPU-time limit of ${this.options.cpuLimitMs} ms; the instance was stopped`;
      this.end("cpu-limit", detail);
      return { status: deadlineExceeded, body: encoder.encode(detail) };
    }
    if (this.suspension?.unwinding === true) {
      const detail = `the function trapped: its stack, saved while a host call waits, needs more than the ${unwindBytes} bytes allowed; the instance was stopped`;
      this.end("trap", detail);
      return { status: internal, body: encoder.encode(detail) };
    }
    // A trap or an exit leaves the guest's state unknown: this instance is not used again.
    const output = brokenOutput(error);
    this.end(error instanceof GuestExit ? "exit" : "trap", new TextDecoder().decode(output.body));
    return output;
  }

  private describe(error: unknown): string {
    if (this.suspension?.unwinding === true) return `its stack, saved while a host call waits, needs more than the ${unwindBytes} bytes allowed`;
    return error instanceof Error ? error.message : String(error);
  }

  /** The guest suspended in a host call: its clock stops (the wait is the backend's time, not the guest's CPU). */
  private readonly paused = (): void => {
    this.pausedAt = performance.now();
  };

  /** The host call's answer is in: the guest's clock goes on; false when the instance ended meanwhile. */
  private readonly resumed = (): boolean => {
    this.deadline += performance.now() - this.pausedAt;
    return this.alive;
  };

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
  private readonly ops: readonly string[];
  private readonly opIndex: ReadonlyMap<string, number>;
  /** Each op's answering function, by the op's number; undefined for an op that waits. */
  private readonly callers: readonly (((request: Uint8Array) => BridgeAnswer) | undefined)[];
  private readonly waiting: ((op: string, request: Uint8Array) => Promise<BridgeAnswer>) | undefined;
  private readonly capBytes: number;
  private answer: BridgeAnswer = { status: 0, body: new Uint8Array(0) };

  constructor(
    options: InlineInstanceOptions,
    private readonly suspension: GuestSuspension | undefined,
  ) {
    this.ops = bridgeOps(options.setup.ottavoImports);
    this.opIndex = new Map(this.ops.map((op, i) => [op, i]));
    this.callers = this.ops.map((op) => options.hostCallFor(op));
    this.waiting = options.hostCallWaiting;
    this.capBytes = options.bufferCapBytes;
  }

  opOf(op: string): number {
    const index = this.opIndex.get(op);
    if (index === undefined) throw new Error(`no host call ${op}`);
    return index;
  }

  send(op: number, source: Uint8Array, from: number, length: number): number {
    const resumed = this.suspension?.takeResumed();
    if (resumed !== undefined) {
      this.answer = resumed;
      return resumed.status;
    }
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
    const resumed = this.suspension?.takeResumed();
    if (resumed !== undefined) return (this.answer = resumed);
    return (this.answer = this.answerOf(this.opOf(op), request));
  }

  /** The answer of op, at once; or suspendedAnswer when the op waits and the guest was suspended meanwhile. */
  private answerOf(op: number, request: Uint8Array): BridgeAnswer {
    const cap = this.capBytes;
    if (request.length > cap) return tooLarge(`the request (${request.length} bytes) exceeds the function's buffer cap of ${cap} bytes`);
    const caller = this.callers[op];
    if (caller === undefined) return this.wait(this.ops[op], request);
    let answer: BridgeAnswer;
    try {
      answer = caller(request);
    } catch (error) {
      answer = { status: internal, body: encoder.encode(String(error)) };
    }
    return this.capped(answer);
  }

  private capped(answer: BridgeAnswer): BridgeAnswer {
    const cap = this.capBytes;
    if (answer.body.length > cap) return tooLarge(`the response (${answer.body.length} bytes) exceeds the function's buffer cap of ${cap} bytes`);
    return answer;
  }

  /** A host call that waits: the guest suspends until its answer is in (see GuestSuspension). */
  private wait(op: string, request: Uint8Array): BridgeAnswer {
    const suspension = this.suspension;
    if (this.waiting === undefined || suspension === undefined) {
      return { status: failedPrecondition, body: encoder.encode(`${op} cannot be answered at once, and this function runs inline on the main thread without asyncify`) };
    }
    if (!suspension.canSuspend()) {
      return { status: failedPrecondition, body: encoder.encode(`${op} waits, and cannot be called here: the host called this guest code while answering another host call`) };
    }
    suspension.suspend(
      this.waiting(op, request).then(
        (answer) => this.capped(answer),
        (error: unknown): BridgeAnswer => ({ status: internal, body: encoder.encode(String(error)) }),
      ),
    );
    return suspendedAnswer;
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
