import { MetadataError, type AdapterContext } from "@ottavo/component-runtime";

const INT64_MAX = 2n ** 63n - 1n;

/**
 * Layotto's sequencer `biggerThan` (context.settings.biggerThan): a map of key to
 * the value every id of that key must exceed, keys as the runtime scopes them.
 * Values may be integers or decimal strings (a JSON number beyond 2^53 has lost
 * digits already, so such a number is refused and a string asked for). Only floors
 * above 0 are kept: ids start at 1 anyway. Every bad entry is reported at once.
 */
export function readBiggerThan(context: AdapterContext): Map<string, bigint> {
  const floors = new Map<string, bigint>();
  const given = context.settings["biggerThan"];
  if (given === undefined || given === null) return floors;
  if (typeof given !== "object" || Array.isArray(given)) {
    throw new MetadataError([
      `sequencer '${context.componentName}': biggerThan must be a map of key to integer, not ${JSON.stringify(given)}`,
    ]);
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(given)) {
    const floor = toInt64(value);
    if (floor === undefined) {
      problems.push(
        typeof value === "number" && Number.isInteger(value)
          ? `sequencer '${context.componentName}': biggerThan '${key}' is too large for a JSON number; give it as a string`
          : `sequencer '${context.componentName}': biggerThan '${key}' must be an int64 integer, not ${describe(value)}`,
      );
    } else if (floor > 0n) {
      floors.set(key, floor);
    }
  }
  if (problems.length > 0) throw new MetadataError(problems);
  return floors;
}

function toInt64(value: unknown): bigint | undefined {
  let n: bigint | undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === "bigint") n = value;
  else if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) n = BigInt(value.trim());
  // The floor itself must leave room for one id above it.
  return n !== undefined && n >= -INT64_MAX - 1n && n < INT64_MAX ? n : undefined;
}

function describe(value: unknown): string {
  return typeof value === "bigint" ? value.toString() : (JSON.stringify(value) ?? String(value));
}
