import { ComponentError } from "./component-error";
import { compiledPattern } from "./pattern-cache";

/**
 * The checks spec/components declares for one operation's arguments (bounds and
 * patterns of fields, "exactly one of" for unions), beyond what the type checker
 * sees. Given the call's arguments (the call context, if passed, is ignored), it
 * returns every problem found, each naming the parameter and the field's path.
 */
export type RequestCheck = (args: readonly unknown[]) => string[];

/** Per operation name, its generated check (`stateStoreRequestChecks`, ...). */
export type RequestChecks = Readonly<Record<string, RequestCheck>>;

/**
 * A call whose arguments break what spec/components declares: INVALID_ARGUMENT,
 * raised before the adapter sees the call. Its name is the shared error's
 * (InvalidArgument), so the API answers it as it answers an adapter's own.
 */
export class InvalidRequestError extends ComponentError {
  constructor(
    /** The operation called, e.g. "transact". */
    readonly operation: string,
    readonly problems: readonly string[],
  ) {
    super(`${operation}: ${problems.join("; ")}`, "INVALID_ARGUMENT", undefined, "InvalidArgument");
  }
}

/** A number field's declared bounds (inclusive); int32 and uint32 fields must be whole too. */
export function checkBounds(value: number, at: string, min: number | undefined, max: number | undefined, integer: boolean, problems: string[]): void {
  if (typeof value !== "number" || Number.isNaN(value) || (integer && !Number.isInteger(value))) {
    problems.push(`${at} must be ${integer ? "an integer" : "a number"}, not ${String(value)}`);
  } else if (min !== undefined && value < min) {
    problems.push(`${at} must be at least ${min}, not ${value}`);
  } else if (max !== undefined && value > max) {
    problems.push(`${at} must be at most ${max}, not ${value}`);
  }
}

/** A string field's declared pattern. */
export function checkPattern(value: string, at: string, pattern: string, problems: string[]): void {
  if (typeof value !== "string" || !compiledPattern(pattern).test(value)) problems.push(`${at} must match /${pattern}/, not ${JSON.stringify(value)}`);
}

/** A union: exactly one of its fields is given (not undefined). */
export function checkExactlyOne(value: object, at: string, fields: readonly string[], problems: string[]): void {
  let count = 0;
  for (const field of fields) if ((value as Record<string, unknown>)[field] !== undefined) count++;
  if (count === 1) return;
  const given = fields.filter((field) => (value as Record<string, unknown>)[field] !== undefined);
  const names = (list: readonly string[]) => list.map((name) => `'${name}'`).join(" and ");
  problems.push(`${at} must give exactly one of ${names(fields)}, not ${given.length === 0 ? "none" : names(given)}`);
}

/**
 * A refusal that works for both kinds of operation: awaited, it rejects; iterated
 * (an operation that returns a stream), its first next() rejects. Whichever way
 * the caller takes, the other is not reported as an unhandled rejection.
 */
function refused(error: InvalidRequestError): Promise<never> & AsyncIterable<never> {
  const rejection = Promise.reject(error);
  rejection.catch(() => undefined);
  return Object.assign(rejection, {
    [Symbol.asyncIterator]: (): AsyncIterator<never> => ({ next: () => Promise.reject(error) }),
  });
}

/**
 * Puts each checked operation of a component behind its check: a call whose
 * arguments break the spec is refused with InvalidRequestError and never
 * reaches the adapter's method. The component is the same object (its own
 * properties shadow the checked methods), so features, identity and the
 * methods without checks are untouched.
 */
export function guardRequests<C extends object>(component: C, checks: RequestChecks | undefined): C {
  if (checks === undefined) return component;
  // A component's synchronous form (`sync`, when it answers at once) is checked alike; a refusal throws there.
  const sync: unknown = (component as { sync?: unknown }).sync;
  if (typeof sync === "object" && sync !== null) guardSyncRequests(sync, checks);
  for (const [operation, check] of Object.entries(checks)) {
    const original: unknown = (component as Record<string, unknown>)[operation];
    if (typeof original !== "function") continue;
    Object.defineProperty(component, operation, {
      configurable: true,
      writable: true,
      enumerable: false,
      value: function checked(this: unknown, ...args: unknown[]): unknown {
        const problems = check(args);
        if (problems.length > 0) return refused(new InvalidRequestError(operation, problems));
        return (original as (...a: unknown[]) => unknown).apply(this ?? component, args);
      },
    });
  }
  return component;
}

/** guardRequests for a component's synchronous form: the same checks, a refusal thrown. */
function guardSyncRequests(sync: object, checks: RequestChecks): void {
  for (const [operation, check] of Object.entries(checks)) {
    const original: unknown = (sync as Record<string, unknown>)[operation];
    if (typeof original !== "function") continue;
    Object.defineProperty(sync, operation, {
      configurable: true,
      writable: true,
      enumerable: false,
      value: function checked(this: unknown, ...args: unknown[]): unknown {
        const problems = check(args);
        if (problems.length > 0) throw new InvalidRequestError(operation, problems);
        return (original as (...a: unknown[]) => unknown).apply(this ?? sync, args);
      },
    });
  }
}
