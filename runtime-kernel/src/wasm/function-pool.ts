import { FunctionInstance, type InstanceEnd, type InstanceOptions } from "./function-instance";
import type { GuestAbi, InvocationInput, InvocationOutput } from "./worker-protocol";

/** gRPC RESOURCE_EXHAUSTED / UNAVAILABLE, as invocation statuses. */
const resourceExhausted = 8;
const unavailable = 14;

/** Crashes within this window that make a function DOWN and slow its restarts. */
const crashWindowMs = 10_000;
const crashLoopThreshold = 5;
const crashLoopRestartDelayMs = 1_000;

export interface PoolStats {
  readonly state: "UP" | "DOWN" | "STARTING";
  readonly reason: string;
  readonly instances: number;
  readonly idle: number;
  readonly calls: number;
  readonly errors: number;
  readonly lastError: string;
  readonly restarts: number;
}

/**
 * The instances of one module version of a function. Each instance runs one
 * invocation at a time; callers wait for a free one up to acquireTimeoutMs. An
 * instance that traps, exits or runs past its CPU limit is replaced; more than a
 * few crashes in a short window mark the function DOWN (with the last reason) and
 * space the restarts out, so a crash loop cannot spin the machine.
 */
export class FunctionPool {
  private readonly all = new Set<FunctionInstance>();
  private readonly idle: FunctionInstance[] = [];
  private readonly waiters: { resolve: (i: FunctionInstance | undefined) => void; timer: NodeJS.Timeout }[] = [];
  private readonly crashes: number[] = [];
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private closed = false;
  private calls = 0;
  private errors = 0;
  private restarts = 0;
  private lastError = "";
  private downReason = "";
  abi: GuestAbi | undefined;
  functionId: string | undefined;

  constructor(
    private readonly size: number,
    private readonly instanceOptions: InstanceOptions,
    private readonly acquireTimeoutMs: number,
  ) {}

  /** Starts every instance; rejects with the first start failure (the module is then not served). */
  async start(): Promise<void> {
    const started = Array.from({ length: this.size }, () => this.spawn());
    try {
      const infos = await Promise.all(started.map((i) => i.ready));
      this.abi = infos[0].abi;
      this.functionId = infos[0].functionId;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  private spawn(): FunctionInstance {
    const instance = new FunctionInstance(this.instanceOptions);
    this.all.add(instance);
    instance.whenEnded((reason, detail) => this.onInstanceEnd(instance, reason, detail));
    instance.ready.then(
      () => this.release(instance),
      () => undefined,
    );
    return instance;
  }

  private onInstanceEnd(instance: FunctionInstance, reason: InstanceEnd, detail: string): void {
    this.all.delete(instance);
    const at = this.idle.indexOf(instance);
    if (at >= 0) this.idle.splice(at, 1);
    if (this.closed || reason === "closed") return;
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length > 0 && this.crashes[0] < now - crashWindowMs) this.crashes.shift();
    this.lastError = `${reason}: ${detail}`;
    const looping = this.crashes.length >= crashLoopThreshold;
    if (looping) this.downReason = `crash loop: ${this.crashes.length} instance failures in ${crashWindowMs / 1000} s; last: ${this.lastError}`;
    this.restarts++;
    const restart = () => {
      if (this.closed) return;
      this.spawn().ready.then(
        () => {
          if (this.crashes.length < crashLoopThreshold) this.downReason = "";
        },
        (error: unknown) => {
          this.downReason = `cannot restart an instance: ${error instanceof Error ? error.message : String(error)}`;
        },
      );
    };
    if (looping) setTimeout(restart, crashLoopRestartDelayMs).unref();
    else restart();
  }

  private release(instance: FunctionInstance): void {
    if (!instance.alive) return;
    // Callers already waiting are served even while draining, so a reload fails none of them.
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(instance);
    } else if (!this.closed) this.idle.push(instance);
  }

  private acquire(): Promise<FunctionInstance | undefined> {
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
    this.inFlight++;
    this.calls++;
    try {
      const instance = await this.acquire();
      if (instance === undefined) {
        return this.failed({ status: resourceExhausted, body: new TextEncoder().encode(`no free instance of the function within ${this.acquireTimeoutMs} ms (${this.size} instance(s), one call each)`) });
      }
      const output = await instance.invoke(input);
      this.release(instance);
      return output.status === 0 ? output : this.failed(output);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
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
    };
  }

  /** Takes no new calls, lets the ones in flight finish, then stops every instance. */
  async drainAndClose(): Promise<void> {
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(undefined);
    }
    await Promise.all([...this.all].map((i) => i.close()));
    this.all.clear();
    this.idle.length = 0;
  }
}
