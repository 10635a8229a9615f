/**
 * When a Redis stream subscription redelivers, touches and scans. Redis keeps, per
 * pending message, how long it has been idle and how often it was delivered; a
 * message is due again once its idle time reaches its backoff.
 */
export class StreamTiming {
  /** How often messages a subscription holds (queued or being handled) are touched, so they never look idle. */
  readonly heartbeatMs: number;
  /**
   * The least idle time before a pending message is claimed: three heartbeats, so
   * a message some live subscription holds never qualifies, even if one touch is late.
   */
  readonly minIdleMs: number;

  constructor(
    readonly redeliveryBackoffMs: number,
    readonly maxRedeliveryBackoffMs: number,
  ) {
    this.heartbeatMs = Math.min(Math.max(Math.floor(redeliveryBackoffMs / 3), 5), 1_000);
    this.minIdleMs = 3 * this.heartbeatMs;
  }

  /**
   * How long a message delivered `deliveries` times stays pending before it is
   * delivered again: redeliveryBackoff doubled per earlier delivery, capped at
   * maxRedeliveryBackoff, and never below minIdleMs.
   */
  backoffMs(deliveries: number): number {
    // 2^30 is far past any cap; the exponent limit only keeps the number finite.
    const doubled = this.redeliveryBackoffMs * 2 ** Math.min(Math.max(deliveries - 1, 0), 30);
    return Math.max(Math.min(doubled, this.maxRedeliveryBackoffMs), this.minIdleMs);
  }
}

/**
 * How often a subscription looks for pending messages without a reason to: it
 * already scans when one of its own deliveries fails and when a pending message it
 * saw becomes due; this catches messages a runtime left pending after the last scan
 * and then stopped.
 */
export const PERIODIC_SCAN_MS = 1_000;

/** How long XREADGROUP blocks waiting for new messages; close() does not wait for it. */
export const READ_BLOCK_MS = 1_000;

/** The pause after the n-th failed read or scan in a row (from 0): 50 ms, doubling up to 2 s. */
export function failurePauseMs(failures: number): number {
  return Math.min(50 * 2 ** Math.min(failures, 10), 2_000);
}
