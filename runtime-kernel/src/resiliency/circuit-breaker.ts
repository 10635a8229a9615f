import type { CircuitBreakerPolicy } from "./resiliency-spec";

export type BreakerState = "closed" | "open" | "half-open";

/**
 * A circuit breaker as Dapr's (sony/gobreaker's model): closed, it counts
 * consecutive failures and opens when they pass the trip threshold; open, it
 * refuses every call until its timeout has passed; then half-open, it lets
 * maxRequests probes through: a success closes it, a failure opens it again.
 */
export class CircuitBreaker {
  private state: BreakerState = "closed";
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probes = 0;
  private countsSince: number;
  /** Calls waiting for the breaker to let them through (waitUntilAllowed), woken on every change. */
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly policy: CircuitBreakerPolicy,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.countsSince = now();
  }

  /** The state now (an open breaker whose timeout passed reads half-open). */
  get current(): BreakerState {
    if (this.state === "open" && this.now() - this.openedAt >= this.policy.timeoutMs) {
      this.state = "half-open";
      this.probes = 0;
    }
    return this.state;
  }

  /** Whether a call may go through now; a half-open breaker counts it as a probe. */
  allow(): boolean {
    const state = this.current;
    if (state === "open") return false;
    if (state === "half-open") {
      if (this.probes >= this.policy.maxRequests) return false;
      this.probes++;
      return true;
    }
    if (this.policy.intervalMs > 0 && this.now() - this.countsSince >= this.policy.intervalMs) {
      this.countsSince = this.now();
      this.consecutiveFailures = 0;
    }
    return true;
  }

  /**
   * Resolves once a call may go through, counted as allow() counts it: at once
   * when closed; when open, after its timeout (as a probe); when half-open with its
   * probes out, after their outcome (closed: go; open again: wait again). Rejects
   * with the signal's reason when it fires first (the signal is asked for only when
   * there is a wait). Calls `onWait` before the first wait.
   */
  async waitUntilAllowed(signal: () => AbortSignal, onWait?: () => void): Promise<void> {
    let waited = false;
    while (!this.allow()) {
      if (!waited) onWait?.();
      waited = true;
      await this.nextChange(signal());
    }
  }

  succeeded(): void {
    if (this.state === "half-open") this.state = "closed";
    this.consecutiveFailures = 0;
    this.countsSince = this.now();
    this.wake();
  }

  failed(): void {
    if (this.state === "half-open") return this.open();
    this.consecutiveFailures++;
    if (this.state === "closed" && this.consecutiveFailures > this.policy.tripAfter) this.open();
  }

  /**
   * A call let through ended with no outcome (its caller went away): a half-open
   * breaker gets its probe back, or it would stay half-open with no probe to send.
   */
  abandoned(): void {
    if (this.state === "half-open" && this.probes > 0) {
      this.probes--;
      this.wake();
    }
  }

  /** Resolves at the breaker's next change (an outcome, or an open breaker's timeout passing). */
  private nextChange(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal.removeEventListener("abort", onAbort);
      };
      const wake = () => {
        done();
        resolve();
      };
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      const timer = this.state === "open" ? setTimeout(wake, Math.max(0, this.openedAt + this.policy.timeoutMs - this.now())) : undefined;
      this.waiters.add(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private open(): void {
    this.state = "open";
    this.openedAt = this.now();
    this.consecutiveFailures = 0;
    this.wake();
  }
}
