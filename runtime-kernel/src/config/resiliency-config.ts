import { parseDuration } from "@ottavo/component-runtime";
import {
  emptyResiliency,
  StatusSet,
  type CircuitBreakerPolicy,
  type ResiliencySpec,
  type RetryPolicy,
  type TargetPolicies,
} from "../resiliency/resiliency-spec";
import type { ConfigReport } from "./config-error";
import { isPlainObject } from "./component-entry";

/**
 * Ottavo YAML's `resiliency` section: Dapr's resiliency spec, either its `spec`
 * part as it is or the whole Dapr document (apiVersion, kind: Resiliency,
 * metadata, spec). Defaults are Dapr's.
 *
 *   resiliency:
 *     policies:
 *       timeouts: { general: 5s }
 *       retries: { important: { policy: constant, duration: 5ms, maxRetries: 3 } }
 *       circuitBreakers: { simpleCB: { maxRequests: 1, timeout: 30s, trip: consecutiveFailures >= 5 } }
 *     targets:
 *       apps: { b: { timeout: general, retry: important, circuitBreaker: simpleCB } }
 *       components:
 *         statestore: { outbound: { timeout: general, retry: important } }
 *         pubsub: { inbound: { timeout: general, retry: important, circuitBreaker: simpleCB } }
 */
export function readResiliency(report: ConfigReport, value: unknown): ResiliencySpec {
  if (value === undefined || value === null) return emptyResiliency;
  if (!isPlainObject(value)) {
    report.problem("'resiliency' must be a map with policies and targets (Dapr's resiliency spec)");
    return emptyResiliency;
  }
  const where = "kind" in value || "spec" in value ? "resiliency.spec" : "resiliency";
  const spec = where === "resiliency.spec" ? value.spec : value;
  if (where === "resiliency.spec" && value.kind !== undefined && value.kind !== "Resiliency") {
    report.problem(`'resiliency.kind' must be Resiliency, not '${String(value.kind)}'`);
  }
  if (!isPlainObject(spec)) {
    report.problem(`'${where}' must be a map with policies and targets`);
    return emptyResiliency;
  }
  const { policies, targets, ...unknown } = spec;
  for (const key of Object.keys(unknown)) report.problem(`unknown key '${where}.${key}'; known: policies, targets`);
  const read = new PolicyReader(report, `${where}.policies`, policies);
  const apps = new Map<string, TargetPolicies>();
  const components = new Map<string, TargetPolicies>();
  const inbound = new Map<string, TargetPolicies>();
  if (targets !== undefined && targets !== null) {
    if (!isPlainObject(targets)) report.problem(`'${where}.targets' must be a map with apps and components`);
    else {
      const { apps: appTargets, components: componentTargets, actors, ...others } = targets;
      for (const key of Object.keys(others)) report.problem(`unknown key '${where}.targets.${key}'; known: apps, components, actors`);
      if (actors !== undefined) report.warning(`'${where}.targets.actors': Ottavo has no actors; ignored`);
      for (const [id, entry] of entries(report, `${where}.targets.apps`, appTargets)) {
        const policies = read.target(`${where}.targets.apps.${id}`, entry);
        if (policies !== undefined) apps.set(id, policies);
      }
      for (const [name, entry] of entries(report, `${where}.targets.components`, componentTargets)) {
        const policies = readComponentTarget(report, read, `${where}.targets.components.${name}`, entry);
        if (policies?.outbound !== undefined) components.set(name, policies.outbound);
        if (policies?.inbound !== undefined) inbound.set(name, policies.inbound);
      }
    }
  }
  return { apps, components, inbound };
}

/**
 * One entry of Dapr's targets.components: `outbound` (the runtime calling the
 * component: reads, writes, publishes, binding calls) and `inbound` (the
 * component delivering to the app: a pubsub's events) take the same policies as an app.
 */
function readComponentTarget(
  report: ConfigReport,
  read: PolicyReader,
  where: string,
  value: unknown,
): { outbound?: TargetPolicies; inbound?: TargetPolicies } | undefined {
  if (!isPlainObject(value)) {
    report.problem(`'${where}' must be a map with outbound and/or inbound: { timeout, retry, circuitBreaker }`);
    return undefined;
  }
  const { outbound, inbound, ...unknown } = value;
  for (const key of Object.keys(unknown)) report.problem(`unknown key '${where}.${key}'; known: outbound, inbound`);
  const target = (direction: string, policies: unknown) =>
    policies === undefined || policies === null ? undefined : read.target(`${where}.${direction}`, policies);
  return { outbound: target("outbound", outbound), inbound: target("inbound", inbound) };
}

/** The entries of a map, or none (with a problem) when it is not one. */
function entries(report: ConfigReport, where: string, value: unknown): Array<[string, unknown]> {
  if (value === undefined || value === null) return [];
  if (!isPlainObject(value)) {
    report.problem(`'${where}' must be a map of names`);
    return [];
  }
  return Object.entries(value);
}

class PolicyReader {
  private readonly timeouts = new Map<string, number>();
  private readonly retries = new Map<string, RetryPolicy>();
  private readonly breakers = new Map<string, CircuitBreakerPolicy>();

  constructor(
    private readonly report: ConfigReport,
    private readonly where: string,
    policies: unknown,
  ) {
    if (policies === undefined || policies === null) return;
    if (!isPlainObject(policies)) {
      report.problem(`'${where}' must be a map with timeouts, retries and circuitBreakers`);
      return;
    }
    const { timeouts, retries, circuitBreakers, ...unknown } = policies;
    for (const key of Object.keys(unknown)) report.problem(`unknown key '${where}.${key}'; known: timeouts, retries, circuitBreakers`);
    for (const [name, value] of entries(report, `${where}.timeouts`, timeouts)) {
      const ms = this.duration(`${where}.timeouts.${name}`, value);
      if (ms !== undefined) this.timeouts.set(name, ms);
    }
    for (const [name, value] of entries(report, `${where}.retries`, retries)) {
      const retry = this.retry(name, value);
      if (retry !== undefined) this.retries.set(name, retry);
    }
    for (const [name, value] of entries(report, `${where}.circuitBreakers`, circuitBreakers)) {
      const breaker = this.breaker(name, value);
      if (breaker !== undefined) this.breakers.set(name, breaker);
    }
  }

  target(where: string, value: unknown): TargetPolicies | undefined {
    if (!isPlainObject(value)) {
      this.report.problem(`'${where}' must be a map with timeout, retry and circuitBreaker (policy names)`);
      return undefined;
    }
    const { timeout, retry, circuitBreaker, circuitBreakerCacheSize: _cacheSize, ...unknown } = value;
    for (const key of Object.keys(unknown)) {
      this.report.problem(`unknown key '${where}.${key}'; known: timeout, retry, circuitBreaker, circuitBreakerCacheSize`);
    }
    const policies: { -readonly [K in keyof TargetPolicies]: TargetPolicies[K] } = {};
    if (timeout !== undefined) {
      const named = typeof timeout === "string" ? this.timeouts.get(timeout) : undefined;
      // Dapr names a timeout policy; a duration written in place is accepted too.
      const ms = named ?? (typeof timeout === "string" ? parseDuration(timeout) : undefined);
      if (ms === undefined || ms <= 0) this.report.problem(`'${where}.timeout' names no timeout policy under ${this.where}.timeouts`);
      else Object.assign(policies, { timeoutMs: ms, timeoutName: typeof timeout === "string" ? timeout : "" });
    }
    if (retry !== undefined) {
      const found = typeof retry === "string" ? this.retries.get(retry) : undefined;
      if (found === undefined) this.report.problem(`'${where}.retry' names no retry policy under ${this.where}.retries`);
      else policies.retry = found;
    }
    if (circuitBreaker !== undefined) {
      const found = typeof circuitBreaker === "string" ? this.breakers.get(circuitBreaker) : undefined;
      if (found === undefined) this.report.problem(`'${where}.circuitBreaker' names no circuit breaker under ${this.where}.circuitBreakers`);
      else policies.circuitBreaker = found;
    }
    return policies;
  }

  private retry(name: string, value: unknown): RetryPolicy | undefined {
    const where = `${this.where}.retries.${name}`;
    if (!isPlainObject(value)) {
      this.report.problem(`'${where}' must be a map with policy, duration or initialInterval/maxInterval, maxRetries`);
      return undefined;
    }
    const { policy = "constant", duration, initialInterval, maxInterval, maxRetries = -1, matching, ...unknown } = value;
    for (const key of Object.keys(unknown)) {
      this.report.problem(`unknown key '${where}.${key}'; known: policy, duration, initialInterval, maxInterval, maxRetries, matching`);
    }
    if (policy !== "constant" && policy !== "exponential") this.report.problem(`'${where}.policy' must be constant or exponential`);
    if (!Number.isInteger(maxRetries) || (maxRetries as number) < -1) {
      this.report.problem(`'${where}.maxRetries' must be -1 (retry until the caller's deadline) or a count from 0`);
    }
    let httpStatusCodes: StatusSet | undefined;
    let grpcStatusCodes: StatusSet | undefined;
    if (matching !== undefined && matching !== null) {
      if (!isPlainObject(matching)) this.report.problem(`'${where}.matching' must be a map with httpStatusCodes and gRPCStatusCodes`);
      else {
        const { httpStatusCodes: http, gRPCStatusCodes: grpc, ...others } = matching;
        for (const key of Object.keys(others)) this.report.problem(`unknown key '${where}.matching.${key}'; known: httpStatusCodes, gRPCStatusCodes`);
        httpStatusCodes = this.statuses(`${where}.matching.httpStatusCodes`, http, 100, 599);
        grpcStatusCodes = this.statuses(`${where}.matching.gRPCStatusCodes`, grpc, 0, 16);
      }
    }
    return {
      name,
      policy: policy === "exponential" ? "exponential" : "constant",
      durationMs: this.duration(`${where}.duration`, duration ?? "5s") ?? 5000,
      initialIntervalMs: this.duration(`${where}.initialInterval`, initialInterval ?? "500ms") ?? 500,
      maxIntervalMs: this.duration(`${where}.maxInterval`, maxInterval ?? "60s") ?? 60_000,
      maxRetries: Number.isInteger(maxRetries) ? (maxRetries as number) : -1,
      ...(httpStatusCodes && { httpStatusCodes }),
      ...(grpcStatusCodes && { grpcStatusCodes }),
    };
  }

  private breaker(name: string, value: unknown): CircuitBreakerPolicy | undefined {
    const where = `${this.where}.circuitBreakers.${name}`;
    if (!isPlainObject(value)) {
      this.report.problem(`'${where}' must be a map with maxRequests, interval, timeout and trip`);
      return undefined;
    }
    const { maxRequests = 1, interval = "0", timeout = "60s", trip = "consecutiveFailures > 5", ...unknown } = value;
    for (const key of Object.keys(unknown)) this.report.problem(`unknown key '${where}.${key}'; known: maxRequests, interval, timeout, trip`);
    if (!Number.isInteger(maxRequests) || (maxRequests as number) < 1) this.report.problem(`'${where}.maxRequests' must be a count from 1`);
    // Dapr takes a CEL expression; the form its docs use is the one supported.
    const match = typeof trip === "string" ? /^\s*consecutiveFailures\s*(>=|>)\s*(\d+)\s*$/.exec(trip) : null;
    if (match === null) this.report.problem(`'${where}.trip' must read "consecutiveFailures > N" or "consecutiveFailures >= N"`);
    const threshold = match === null ? 5 : Number(match[2]);
    return {
      name,
      maxRequests: Number.isInteger(maxRequests) ? (maxRequests as number) : 1,
      intervalMs: this.duration(`${where}.interval`, interval, true) ?? 0,
      timeoutMs: this.duration(`${where}.timeout`, timeout) ?? 60_000,
      tripAfter: match !== null && match[1] === ">=" ? Math.max(0, threshold - 1) : threshold,
    };
  }

  private statuses(where: string, value: unknown, min: number, max: number): StatusSet | undefined {
    if (value === undefined || value === null || value === "") return undefined;
    const set = typeof value === "string" || typeof value === "number" ? StatusSet.parse(String(value), min, max) : undefined;
    if (set === undefined) this.report.problem(`'${where}' must list codes or ranges from ${min} to ${max}, e.g. "429,500-599"`);
    return set;
  }

  private duration(where: string, value: unknown, zeroAllowed = false): number | undefined {
    const ms = typeof value === "string" || typeof value === "number" ? parseDuration(String(value)) : undefined;
    if (ms === undefined || ms < 0 || (ms === 0 && !zeroAllowed)) {
      this.report.problem(`'${where}' must be a ${zeroAllowed ? "" : "positive "}duration such as "5s" or "250ms"`);
      return undefined;
    }
    return ms;
  }
}
