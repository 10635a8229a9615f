/**
 * Resiliency policies in Dapr's resiliency spec shape (docs.dapr.io, operations/
 * resiliency): named timeouts, retries and circuit breakers under `policies`,
 * applied to targets by name under `targets`. Durations are milliseconds here.
 */

export interface RetryPolicy {
  readonly name: string;
  /** "constant": wait durationMs between attempts; "exponential": start at initialIntervalMs, double, cap at maxIntervalMs. */
  readonly policy: "constant" | "exponential";
  readonly durationMs: number;
  readonly initialIntervalMs: number;
  readonly maxIntervalMs: number;
  /** Retries after the first attempt; -1 retries until the caller's deadline. */
  readonly maxRetries: number;
  /** Dapr's `matching`: only these statuses are retried (and then whatever the verb); undefined: the defaults. */
  readonly httpStatusCodes?: StatusSet;
  readonly grpcStatusCodes?: StatusSet;
}

export interface CircuitBreakerPolicy {
  readonly name: string;
  /** Calls let through while half-open (the probes). */
  readonly maxRequests: number;
  /** In the closed state, failure counts reset every interval; 0 never resets them (only a success does). */
  readonly intervalMs: number;
  /** How long the breaker stays open before it lets probes through. */
  readonly timeoutMs: number;
  /** Opens when consecutive failures exceed (or reach, with ">=") this number. */
  readonly tripAfter: number;
}

/** The policies one target gets. */
export interface TargetPolicies {
  readonly timeoutMs?: number;
  readonly timeoutName?: string;
  readonly retry?: RetryPolicy;
  readonly circuitBreaker?: CircuitBreakerPolicy;
}

export interface ResiliencySpec {
  /** Invocation targets (app ids, configured service ids, functions), as Dapr's targets.apps. */
  readonly apps: ReadonlyMap<string, TargetPolicies>;
  /** Calls from the runtime to components by component name, as Dapr's targets.components.<name>.outbound. */
  readonly components: ReadonlyMap<string, TargetPolicies>;
  /**
   * Deliveries from components to the app by component name, as Dapr's
   * targets.components.<name>.inbound (a pubsub's events to OnTopicEvent or to a function).
   */
  readonly inbound: ReadonlyMap<string, TargetPolicies>;
}

export const emptyResiliency: ResiliencySpec = { apps: new Map(), components: new Map(), inbound: new Map() };

/** A set of status codes written as Dapr writes them: "429,500-599". */
export class StatusSet {
  constructor(private readonly ranges: ReadonlyArray<readonly [number, number]>) {}

  has(code: number): boolean {
    return this.ranges.some(([low, high]) => code >= low && code <= high);
  }

  /** Parses "429,500-599"; undefined when malformed or outside [min, max]. */
  static parse(text: string, min: number, max: number): StatusSet | undefined {
    const ranges: Array<[number, number]> = [];
    for (const part of text.split(",").map((p) => p.trim())) {
      const match = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (match === null) return undefined;
      const low = Number(match[1]);
      const high = match[2] === undefined ? low : Number(match[2]);
      if (low < min || high > max || low > high) return undefined;
      ranges.push([low, high]);
    }
    return new StatusSet(ranges);
  }
}
