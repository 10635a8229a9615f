import { AssertionError } from "node:assert";
import type { ComponentError, StatusName } from "@ottavo/component-runtime";

/**
 * Assertions for conformance cases. They throw node's AssertionError, so the cases
 * run under any test runner; each message names the operation and the key, so a
 * vendor reading a failure knows what their adapter did wrong.
 */

/** Fails with a message; `actual`/`expected` feed the runner's diff. */
export function fail(message: string, actual?: unknown, expected?: unknown): never {
  throw new AssertionError({ message, actual, expected, operator: "conformance" });
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) fail(message);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`, actual, expected);
}

/** Deep equality of plain data (arrays, maps of text), compared as JSON with sorted keys. */
export function sameData(actual: unknown, expected: unknown, what: string): void {
  const json = (value: unknown) => JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
  if (json(actual) !== json(expected)) fail(`${what}: expected ${json(expected)}, got ${json(actual)}`, actual, expected);
}

/** Byte-for-byte equality, reporting lengths and the first differing offset rather than a megabyte diff. */
export function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  if (!(actual instanceof Uint8Array)) fail(`${what}: expected ${expected.length} bytes, got ${show(actual)}`);
  if (actual.length !== expected.length) {
    fail(`${what}: expected ${expected.length} bytes, got ${actual.length}${actual.length <= 64 ? ` (${show(utf8Text(actual))})` : ""}`);
  }
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) fail(`${what}: bytes differ first at offset ${i}: expected ${expected[i]}, got ${actual[i]}`);
  }
}

/** Equality of string lists regardless of order (the IDL promises no order for these). */
export function sameSet(actual: readonly string[], expected: readonly string[], what: string): void {
  const a = [...actual].sort();
  const e = [...expected].sort();
  if (a.length !== e.length || a.some((v, i) => v !== e[i])) fail(`${what}: expected ${show(e)}, got ${show(a)}`, a, e);
}

/**
 * Awaits an operation that must fail with one of the given statuses, and returns
 * the error. Adapters raise the generated error classes (EtagMismatchError is a
 * ComponentError with status ABORTED); the check is by shape (status and
 * errorName), so an adapter built against another copy of the runtime passes too.
 */
export async function rejectsWith(operation: Promise<unknown>, statuses: readonly StatusName[], what: string): Promise<ComponentError> {
  const wanted = statuses.join(" or ");
  let outcome: unknown;
  try {
    outcome = await operation;
  } catch (error) {
    if (!isComponentError(error)) {
      fail(`${what}: expected a rejection with status ${wanted}, got a plain error (${describeError(error)}); raise the generated error class`);
    }
    if (!statuses.includes(error.status)) {
      fail(`${what}: expected status ${wanted}, got ${error.status} (${error.message})`);
    }
    return error;
  }
  return fail(`${what}: expected a rejection with status ${wanted}, but it succeeded${outcome === undefined ? "" : ` with ${show(outcome)}`}`);
}

function isComponentError(error: unknown): error is ComponentError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ComponentError>).status === "string" &&
    typeof (error as Partial<ComponentError>).errorName === "string"
  );
}

/** Awaits an operation that must succeed, naming it if it does not. */
export async function succeeds<T>(operation: Promise<T>, what: string): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    return fail(`${what}: expected success, got ${describeError(error)}`);
  }
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function utf8Text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

function describeError(error: unknown): string {
  if (isComponentError(error)) return `${error.status} (${error.message})`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return show(error);
}

function show(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
