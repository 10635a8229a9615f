import type { CallContext } from "@ottavo/component-runtime";
import { Code, ConnectError } from "@connectrpc/connect";
import { TimeoutError, UnavailableError } from "@ottavo/generated/components/errors";
import { codeOf } from "../errors/error-mapping";
import { untilAborted, type Operation, type PolicyRunner, type Verdict } from "./policy-runner";
import type { Resiliency } from "./resiliency";
import type { RetryPolicy } from "./resiliency-spec";

/**
 * Codes by which a component says the request was wrong, not the component or
 * its backend (an etag mismatch, a missing key or file, a bad argument): another
 * attempt would answer the same, and a breaker that counted them would open on a
 * healthy backend. Every other failure (UNAVAILABLE, INTERNAL, a timeout...) is
 * retried, as Dapr retries failed outbound component calls.
 */
const answeredCodes: ReadonlySet<Code> = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.FailedPrecondition,
  Code.Aborted,
  Code.OutOfRange,
  Code.Unimplemented,
  Code.Unauthenticated,
]);

/**
 * Operations that pass through untouched: the component's life cycle and the
 * runtime's own registration (not calls on the caller's behalf), and those
 * whose answer or argument is a stream or a handler, which cannot be repeated
 * or bounded as one answer (subscriptions, file get and put).
 */
const lifeCycle: ReadonlySet<string> = new Set(["constructor", "close", "health", "register", "unregister", "subscribe"]);
const streaming: ReadonlySet<string> = new Set(["file.get", "file.put"]);

const noSignal = new AbortController().signal;

/** A component as the table holds it (the registry's ComponentEntry, which this folder sits below). */
export interface GuardedEntry {
  readonly capability: string;
  readonly name: string;
  readonly component: object;
}

/**
 * The same components, each one that has outbound policies (Dapr's
 * `targets.components.<name>.outbound`) behind a proxy that runs every call
 * through its policy runner: the circuit breaker first, a timeout per attempt
 * (the attempt's CallContext is aborted and the call answers DEADLINE_EXCEEDED
 * even when the adapter does not watch its signal), and retries with backoff.
 * As in Dapr, every operation is retried, writes included: a write that timed
 * out may have been applied, and is applied again. Components without policies
 * are the same objects. Returns the names under targets.components that name no
 * component too.
 */
export function withComponentResiliency<E extends GuardedEntry>(
  entries: readonly E[],
  resiliency: Resiliency,
  names: Iterable<string>,
): { entries: E[]; unknown: string[] } {
  const seen = new Set<string>();
  const guarded = entries.map((entry) => {
    const runner = resiliency.forComponent(entry.capability, entry.name);
    if (runner === undefined) return entry;
    seen.add(entry.name);
    return { ...entry, component: underPolicies(entry.component, entry.capability, runner) };
  });
  return { entries: guarded, unknown: [...new Set(names)].filter((name) => !seen.has(name)) };
}

function underPolicies<C extends object>(component: C, capability: string, runner: PolicyRunner): C {
  const wrapped = new Map<string, unknown>();
  return new Proxy(component, {
    get(target, property, receiver) {
      // Policies (timeouts, retries, a breaker) are asynchronous: a component under them has no synchronous form.
      if (property === "sync") return undefined;
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      if (lifeCycle.has(property) || streaming.has(`${capability}.${property}`)) return value;
      let guarded = wrapped.get(property);
      if (guarded === undefined) {
        const original = value as (...args: unknown[]) => Promise<unknown>;
        guarded = function (this: unknown, ...args: unknown[]) {
          const self = this === receiver ? target : this;
          if (args.some((arg) => typeof arg === "function" || isStream(arg))) return original.apply(self, args);
          const last = args[args.length - 1];
          const context = isCallContext(last) ? last : undefined;
          const request = context === undefined ? args : args.slice(0, -1);
          return runner
            .run(componentOperation(original, self, request, context, runner.policies.timeoutMs), context?.signal ?? noSignal)
            .catch(asComponentFailure);
        };
        wrapped.set(property, guarded);
      }
      return guarded;
    },
  });
}

function componentOperation(
  original: (...args: unknown[]) => Promise<unknown>,
  self: unknown,
  request: readonly unknown[],
  context: CallContext | undefined,
  timeoutMs: number | undefined,
): Operation<unknown> {
  return {
    attempt(signal) {
      if (context !== undefined && signal === context.signal) return original.apply(self, [...request, context]);
      const bound = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
      const deadline = context?.deadline === undefined ? bound : bound === undefined ? context.deadline : Math.min(bound, context.deadline);
      const work = original.apply(self, [...request, { signal, deadline }]);
      return signal === noSignal ? work : untilAborted(work, signal);
    },
    judgeValue: () => "ok",
    judgeError: componentVerdict,
  };
}

/**
 * The runner's own refusals (a timeout, an open breaker) as the component's
 * failures, so the API words them as it words any failure of that component
 * (Layotto's texts) and clients see the declared Timeout and Unavailable errors.
 * Components throw ComponentErrors, never ConnectErrors: a ConnectError here is the runner's.
 */
function asComponentFailure(error: unknown): never {
  if (error instanceof ConnectError && error.code === Code.DeadlineExceeded) throw new TimeoutError(error.rawMessage, error);
  if (error instanceof ConnectError && error.code === Code.Unavailable) throw new UnavailableError(error.rawMessage, error);
  throw error;
}

/** A failed component call: retried unless the component answered that the request is wrong (or `matching` says otherwise). */
function componentVerdict(error: unknown, retry: RetryPolicy | undefined): Verdict {
  const code = codeOf(error);
  // An answer about the request is no failure of the component: it ends the call and resets no breaker.
  if (retry?.grpcStatusCodes !== undefined) return retry.grpcStatusCodes.has(code) ? "retry" : answeredCodes.has(code) ? "ok" : "fail";
  return answeredCodes.has(code) ? "ok" : "retry";
}


function isCallContext(value: unknown): value is CallContext {
  return typeof value === "object" && value !== null && (value as { signal?: unknown }).signal instanceof AbortSignal;
}

function isStream(value: unknown): boolean {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
