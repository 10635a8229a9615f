import type { InstanceEnd } from "./function-instance";
import type { GuestAbi, InvocationInput, InvocationOutput } from "./worker-protocol";

/** One instance of a function, in a worker thread (FunctionInstance) or on the main thread (InlineInstance). */
export interface PoolInstance {
  /** Resolves once the module started, with its ABI and id; rejects when it cannot start. */
  readonly ready: Promise<{ abi: GuestAbi; functionId: string }>;
  readonly alive: boolean;
  whenEnded(listener: (reason: InstanceEnd, detail: string) => void): void;
  /** One invocation; only one at a time. */
  invoke(input: InvocationInput): Promise<InvocationOutput>;
  close(): Promise<void>;
}

/** gRPC RESOURCE_EXHAUSTED / UNAVAILABLE, as invocation statuses. */
const resourceExhausted = 8;
const unavailable = 14;

/** This many instance failures within the window make a function DOWN and space its restarts out. */
const crashWindowMs = 10_000;
const crashLoopThreshold = 5;
/** The first spaced restart waits this long; each further failure in a row doubles it, up to the cap. */
const crashLoopRestartDelayMs = 1_000;
const crashLoopMaxDelayMs = 30_000;

export interface PoolStats {
  readonly state: "UP" | "DOWN" | "STARTING";
  readonly reason: string;
  readonly instances: number;
  readonly idle: number;
  readonly calls: number;
  readonly errors: number;
  readonly lastError: string;
  readonly restarts: number;
  /** While DOWN from a crash loop: how long the pool waits before its next restart (doubling per failure). */
  readonly restartBackoffMs: number;
}

/**
 * The instances of one module version of a function. Each instance runs one
 * invocation at a time; callers wait for a free one up to acquireTimeoutMs. An
 * instance that traps, exits, runs past its CPU limit or fails to start is
 * replaced; five failures within ten seconds mark the function DOWN (with the last
 * reason) and space the restarts out (1 s, doubling per failure in a row, up to
 * 30 s, until a call succeeds), so a crash loop cannot spin the machine. While DOWN with no instance
 * running, calls answer UNAVAILABLE with the reason at once instead of queueing;
 * the first call that succeeds again makes the function UP.
 */
export class FunctionPool {
  private readonly all = new Set<PoolInstance>();
  private readonly idle: PoolInstance[] = [];
  private readonly waiters: { resolve: (i: PoolInstance | undefined) => void; timer: NodeJS.Timeout }[] = [];
  private readonly crashes: number[] = [];
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private readonly closedListeners: (() => void)[] = [];
  private closed = false;
  private calls = 0;
  private errors = 0;
  private restarts = 0;
  private lastError = "";
  private downReason = "";
  /** Failures since the last successful call. */
  private failureStreak = 0;
  private backoffMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Set once start() succeeded: failures before that fail the start instead of restarting. */
  private serving = false;
  abi: GuestAbi | undefined;
  functionId: string | undefined;

  constructor(
    private readonly size: number,
    /** Starts one instance (the first ones, and each replacement). */
    private readonly startInstance: () => PoolInstance,
    private readonly acquireTimeoutMs: number,
  ) {}

  /** Starts every instance; rejects with the first start failure (the module is then not served). */
  async start(): Promise<void> {
    const started = Array.from({ length: this.size }, () => this.spawn());
    try {
      const infos = await Promise.all(started.map((i) => i.ready));
      this.abi = infos[0].abi;
      this.functionId = infos[0].functionId;
      this.serving = true;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  private spawn(): PoolInstance {
    const instance = this.startInstance();
    this.all.add(instance);
    instance.whenEnded((reason, detail) => this.onInstanceEnd(instance, reason, detail));
    instance.ready.then(
      () => this.release(instance),
      () => undefined,
    );
    return instance;
  }

  private onInstanceEnd(instance: PoolInstance, reason: InstanceEnd, detail: string): void {
    this.all.delete(instance);
    const at = this.idle.indexOf(instance);
    if (at >= 0) this.idle.splice(at, 1);
    if (this.closed || reason === "closed" || !this.serving) return;
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length > 0 && this.crashes[0] < now - crashWindowMs) this.crashes.shift();
    this.failureStreak++;
    this.lastError = `${reason}: ${detail}`;
    // Still looping once the window has moved on, until a call succeeds: no burst of quick restarts every ten seconds.
    const looping = this.crashes.length >= crashLoopThreshold || this.failureStreak > crashLoopThreshold;
    this.restarts++;
    if (!looping) {
      this.restart();
      return;
    }
    const spaced = Math.max(0, this.failureStreak - crashLoopThreshold);
    this.backoffMs = Math.min(crashLoopMaxDelayMs, crashLoopRestartDelayMs * 2 ** Math.min(spaced, 15));
    this.downReason = `crash loop: ${this.crashes.length} instance failures in ${crashWindowMs / 1000} s; restarting in ${this.backoffMs} ms; last: ${this.lastError}`;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.restart(), this.backoffMs);
    this.restartTimer.unref();
    if (this.all.size === 0) {
      // Callers waiting for an instance would wait for the restart: answer them now.
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.resolve(undefined);
      }
    }
  }

  /** A replacement instance; one that fails to start ends, and so counts as a failure like a trap. */
  private restart(): void {
    if (this.closed) return;
    this.spawn();
  }

  private release(instance: PoolInstance): void {
    if (!instance.alive) return;
    // Callers already waiting are served even while draining, so a reload fails none of them.
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(instance);
    } else if (!this.closed) this.idle.push(instance);
  }

  private acquire(): Promise<PoolInstance | undefined> {
    const free = this.idle.pop();
    if (free) return Promise.resolve(free);
    return new Promise((resolve) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve(undefined);
        }, this.acquireTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  async invoke(input: InvocationInput): Promise<InvocationOutput> {
    if (this.closed) return { status: unavailable, body: new TextEncoder().encode("the function is being replaced or removed") };
    this.calls++;
    if (this.downReason !== "" && this.all.size === 0) {
      // Nothing runs until the spaced restart: say why now rather than queue the call.
      this.errors++;
      return { status: unavailable, body: new TextEncoder().encode(`the function is DOWN (${this.downReason})`) };
    }
    this.inFlight++;
    try {
      const instance = await this.acquire();
      if (instance === undefined && this.downReason !== "") {
        return this.failed({ status: unavailable, body: new TextEncoder().encode(`the function is DOWN (${this.downReason})`) });
      }
      if (instance === undefined) {
        return this.failed({ status: resourceExhausted, body: new TextEncoder().encode(`no free instance of the function within ${this.acquireTimeoutMs} ms (${this.size} instance(s), one call each)`) });
      }
      const output = await instance.invoke(input);
      this.release(instance);
      if (output.status !== 0) return this.failed(output);
      if (instance.alive) this.recovered();
      return output;
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  /** A call succeeded: the function serves again. */
  private recovered(): void {
    this.failureStreak = 0;
    this.backoffMs = 0;
    this.downReason = "";
  }

  private failed(output: InvocationOutput): InvocationOutput {
    this.errors++;
    this.lastError = new TextDecoder().decode(output.body);
    return output;
  }

  stats(): PoolStats {
    return {
      state: this.downReason !== "" ? "DOWN" : this.abi === undefined ? "STARTING" : "UP",
      reason: this.downReason,
      instances: this.all.size,
      idle: this.idle.length,
      calls: this.calls,
      errors: this.errors,
      lastError: this.lastError,
      restarts: this.restarts,
      restartBackoffMs: this.backoffMs,
    };
  }

  /** Takes no new calls, lets the ones in flight finish, then stops every instance. */
  async drainAndClose(): Promise<void> {
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.close();
  }

  /** Runs listener once the pool is closed (its instances stopped). */
  whenClosed(listener: () => void): void {
    this.closedListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(undefined);
    }
    await Promise.all([...this.all].map((i) => i.close()));
    this.all.clear();
    this.idle.length = 0;
    for (const listener of this.closedListeners.splice(0)) listener();
  }
}
