import { AssertionError } from "node:assert";
import { Code, ConnectError } from "@connectrpc/connect";

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

/** The canonical gRPC name of a code: Code.Aborted -> "ABORTED". */
export function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * Awaits an operation that must fail with one of the given status codes, and
 * returns the error. Adapters raise the generated error classes (EtagMismatchError
 * is a ConnectError with code ABORTED); any ConnectError with the code passes, so
 * an adapter built against its own copy of the generated code passes too.
 */
export async function rejectsWith(operation: Promise<unknown>, codes: readonly Code[], what: string): Promise<ConnectError> {
  const wanted = codes.map(codeName).join(" or ");
  let outcome: unknown;
  try {
    outcome = await operation;
  } catch (error) {
    if (!(error instanceof ConnectError)) {
      fail(`${what}: expected a rejection with status ${wanted}, got a plain error (${describeError(error)}); raise the generated error class`);
    }
    if (!codes.includes(error.code)) {
      fail(`${what}: expected status ${wanted}, got ${codeName(error.code)} (${error.rawMessage})`);
    }
    return error;
  }
  return fail(`${what}: expected a rejection with status ${wanted}, but it succeeded${outcome === undefined ? "" : ` with ${show(outcome)}`}`);
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
  if (error instanceof ConnectError) return `${codeName(error.code)} (${error.rawMessage})`;
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
