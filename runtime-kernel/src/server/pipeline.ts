import type { Code, ConnectError, ContextValues } from "@connectrpc/connect";
import { toConnectError } from "../errors/error-mapping";

/** The wire protocol a call came in on; "wasm" is a host call of a WebAssembly function, in the process. */
export type CallProtocol = "grpc" | "grpc-web" | "connect" | "wasm";

/** What a step sees of one call, whichever path serves it. */
export interface CallInfo {
  /** The service's full name, e.g. "spec.proto.runtime.v1.Runtime". */
  readonly service: string;
  /** The rpc's name as in the proto, e.g. "GetState". */
  readonly method: string;
  readonly protocol: CallProtocol;
  /** True for client, server and bidi streaming rpcs. */
  readonly streaming: boolean;
  /** A request header by its lower-case name; the first value when it repeats. */
  header(name: string): string | undefined;
  /**
   * The call's context values, the same object the handler reads as
   * HandlerContext.values: how a step hands the handler something (the trace
   * span). Made on first use on the gRPC fast path.
   */
  readonly values: ContextValues;
}

/**
 * How a call ended: `code` is undefined for OK; `error` is the mapped error
 * otherwise. `seconds` is the call's duration, read from one clock by the
 * pipeline for every step (from the first begin to the end), and `endedAt` the
 * moment it ended on that clock (performance.now()), for a step that needs the
 * time of the end (the access log's record): no step reads a clock of its own.
 */
export interface CallOutcome {
  readonly code: Code | undefined;
  readonly error: ConnectError | undefined;
  readonly seconds: number;
  readonly endedAt: number;
  /** The call the outcome is of (what the steps' begin saw). */
  readonly call: CallInfo;
}

/**
 * Runs once when the call ends, with its outcome (after the last response
 * message of a stream): a function, or an object whose end method is called.
 * The object form lets a step hand back something it keeps per rpc (its
 * series, its line's start) and so make nothing per call.
 */
export type CallEnd = ((outcome: CallOutcome) => void) | { end(outcome: CallOutcome): void };

/**
 * One cross-cutting step (auth, limits, metrics, tracing, access logs).
 * `begin` runs before the handler; it passes the handler what it needs through
 * call.values, refuses the call by throwing (a ConnectError keeps its code), and
 * may return what to run at the end.
 */
export interface CallStep {
  readonly name: string;
  begin(call: CallInfo): CallEnd | void;
}

/**
 * Turns whatever a handler threw into the error the client receives. `values` are
 * the call's context values, where the handler recorded what it asked a component.
 */
export type ErrorMapper = (error: unknown, values?: ContextValues) => ConnectError;

/**
 * The kernel's one error mapping (runtime-kernel/src/errors/error-mapping.ts): a
 * ConnectError keeps its code and words, a component's declared error its status,
 * anything else is INTERNAL; a component's failure is worded as Layotto words it
 * for the rpc (errors/failure-texts.ts), and never carries its stack.
 */
export const defaultErrorMapper: ErrorMapper = toConnectError;

/** A call the pipeline has let in: `end` runs every step's end exactly once, and maps the error it ended with. */
export interface StartedCall {
  end(error?: unknown, values?: ContextValues): ConnectError | undefined;
}

/**
 * The one pipeline of cross-cutting steps, run the same way by every path that
 * serves calls (Connect-ES for every protocol, and the gRPC fast path), so a step
 * is written once and sees every call. With no steps a call costs one branch.
 */
export class Pipeline {
  private readonly steps: readonly CallStep[];

  constructor(
    steps: readonly CallStep[] = [],
    readonly mapError: ErrorMapper = defaultErrorMapper,
  ) {
    this.steps = steps;
  }

  /** True when some step wants to see calls; paths may skip building CallInfo otherwise. */
  get active(): boolean {
    return this.steps.length > 0;
  }

  /** A pipeline with one more step at the end. */
  with(step: CallStep): Pipeline {
    return new Pipeline([...this.steps, step], this.mapError);
  }

  /**
   * Lets a call in: every step's begin in order. When one refuses, the steps that
   * already began are ended with that error and the mapped error is thrown.
   */
  start(call: CallInfo): StartedCall {
    if (this.steps.length === 0) return this.unobserved;
    const started = performance.now();
    // Most calls have one or two ends (metrics', the access log's): kept in the call itself, an array only from a third one.
    const observed = new ObservedCall(this.mapError, call, started);
    try {
      for (const step of this.steps) {
        const end = step.begin(call);
        if (end) observed.add(end);
      }
    } catch (error) {
      const mapped = this.mapError(error);
      observed.endWith(mapped);
      throw mapped;
    }
    return observed;
  }

  /** What paths use instead of start() when no step is active: ending only maps the error. */
  readonly unobserved: StartedCall = {
    end: (error, values) => (error === undefined ? undefined : this.mapError(error, values)),
  };
}

/**
 * A call the steps began: a class, so that no closure is made per call. It is
 * also the outcome its ends receive (filled in when it ends): no outcome object per call.
 */
class ObservedCall implements StartedCall, CallOutcome {
  private ended = false;
  code: Code | undefined = undefined;
  error: ConnectError | undefined = undefined;
  seconds = 0;
  endedAt = 0;
  /** The ends in the order of their begins: the first two here, the rest in `more`. */
  private first: CallEnd | undefined = undefined;
  private second: CallEnd | undefined = undefined;
  private more: CallEnd[] | undefined = undefined;

  constructor(
    private readonly mapError: ErrorMapper,
    readonly call: CallInfo,
    private readonly started: number,
  ) {}

  add(end: CallEnd): void {
    if (this.first === undefined) this.first = end;
    else if (this.second === undefined) this.second = end;
    else (this.more ??= []).push(end);
  }

  end(error?: unknown, values?: ContextValues): ConnectError | undefined {
    const mapped = error === undefined ? undefined : this.mapError(error, values);
    if (!this.ended) this.endWith(mapped);
    return mapped;
  }

  /** Ends every step that began, once: in reverse order of their begins. */
  endWith(mapped: ConnectError | undefined): void {
    this.ended = true;
    this.code = mapped?.code;
    this.error = mapped;
    this.endedAt = performance.now();
    this.seconds = (this.endedAt - this.started) / 1000;
    const more = this.more;
    if (more !== undefined) for (let i = more.length - 1; i >= 0; i--) runEnd(more[i]!, this);
    if (this.second !== undefined) runEnd(this.second, this);
    if (this.first !== undefined) runEnd(this.first, this);
  }
}

/** Runs one end: one that throws must not keep the others from running. */
function runEnd(end: CallEnd, outcome: CallOutcome): void {
  try {
    if (typeof end === "function") end(outcome);
    else end.end(outcome);
  } catch {
    // A step's bookkeeping failing must not change the call's answer.
  }
}
