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

  succeeded(): void {
    if (this.state === "half-open") this.state = "closed";
    this.consecutiveFailures = 0;
    this.countsSince = this.now();
  }

  failed(): void {
    if (this.state === "half-open") return this.open();
    this.consecutiveFailures++;
    if (this.state === "closed" && this.consecutiveFailures > this.policy.tripAfter) this.open();
  }

  private open(): void {
    this.state = "open";
    this.openedAt = this.now();
    this.consecutiveFailures = 0;
  }
}
