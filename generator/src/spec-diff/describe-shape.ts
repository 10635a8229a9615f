import type { FieldShape, MethodShape, ValueShape } from "./descriptor-shape";

/**
 * How names and shapes are spelled in spec-diff lines: the way a .proto file
 * would spell them, type names relative to the package being compared.
 */

/** `spec.proto.runtime.v1.StateOptions.StateConsistency` -> `StateOptions.StateConsistency` inside that package. */
export function relativeName(typeName: string, pkg: string | undefined): string {
  if (pkg === undefined || pkg === "") return typeName;
  return typeName.startsWith(`${pkg}.`) ? typeName.slice(pkg.length + 1) : typeName;
}

function describeValue(value: ValueShape, pkg: string | undefined): string {
  return value.kind === "scalar" ? value.scalar : `${value.kind} ${relativeName(value.typeName, pkg)}`;
}

/**
 * A field's label, type and representation options in one phrase, e.g. `int32`,
 * `enum StateOptions.StateConsistency`, `repeated string`, `map<string, string>`,
 * `optional int64`, `int64 [jstype = JS_STRING]`, `string (in oneof kind)`.
 * Pass pkg = undefined for fully qualified type names.
 */
export function describeField(field: FieldShape, pkg: string | undefined): string {
  const value = describeValue(field.value, pkg);
  let text: string;
  switch (field.label.kind) {
    case "singular":
      text = value;
      break;
    case "map":
      text = `map<${field.label.key}, ${value}>`;
      break;
    case "oneof":
      text = `${value} (in oneof ${field.label.oneof})`;
      break;
    default:
      text = `${field.label.kind} ${value}`;
  }
  if (field.jstype !== undefined) text += ` [jstype = ${field.jstype}]`;
  if (field.delimited) text += " [delimited encoding]";
  return text;
}

/** The upstream side of a streaming difference: `unary`, `streams server only`, `streams client and server`. */
export function describeStreaming(kind: MethodShape["methodKind"]): string {
  return kind === "unary" ? "unary" : `streams ${streamingSides(kind)}`;
}

/** `server only`, `client only`, `client and server`. */
export function streamingSides(kind: Exclude<MethodShape["methodKind"], "unary">): string {
  switch (kind) {
    case "server_streaming":
      return "server only";
    case "client_streaming":
      return "client only";
    case "bidi_streaming":
      return "client and server";
  }
}

/**
 * Spells two differing type names relative to the package, unless that would make
 * them look equal (same relative name in different packages): then in full.
 */
export function distinctPair<T>(
  upstream: T,
  ours: T,
  describe: (value: T, pkg: string | undefined) => string,
  pkg: string,
): [string, string] {
  const short: [string, string] = [describe(upstream, pkg), describe(ours, pkg)];
  return short[0] !== short[1] ? short : [describe(upstream, undefined), describe(ours, undefined)];
}
