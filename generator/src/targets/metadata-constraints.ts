import type { FieldDecl, MessageDecl, MetadataField } from "../idl";

/**
 * What the parser enforces beyond the type, in words, for generated docs and
 * JSDoc: bounds, allowed values, pattern, exclusions and deprecated names.
 */
export function metadataConstraints(field: MetadataField): string[] {
  const bound = (value: number) => (field.type === "duration" ? durationText(value) : String(value));
  const out: string[] = [];
  if (field.min !== undefined) out.push(`at least ${bound(field.min)}`);
  if (field.max !== undefined) out.push(`at most ${bound(field.max)}`);
  if (field.minField !== undefined) out.push(`at least \`${field.minField}\``);
  if (field.maxField !== undefined) out.push(`at most \`${field.maxField}\``);
  if (field.oneOf !== undefined) out.push(`one of ${field.oneOf.map((v) => JSON.stringify(v)).join(", ")}`);
  if (field.pattern !== undefined) out.push(`matches \`/${field.pattern}/\``);
  if (field.requiredWhen !== undefined) out.push(`required with \`${field.requiredWhen.field}\` ${JSON.stringify(field.requiredWhen.value)}`);
  if (field.excludes.length) out.push(`not with ${field.excludes.map((e) => `\`${e}\``).join(", ")}`);
  if (field.deprecated.length) out.push(`deprecated name ${field.deprecated.map((d) => `\`${d}\``).join(", ")} still read, with a warning`);
  return out;
}

/** Milliseconds in the largest unit that divides them: 1000 is "1s", 1500 "1500ms". */
function durationText(ms: number): string {
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** What the request checks enforce of a message field, in words: bounds and pattern. */
export function fieldConstraints(field: FieldDecl): string[] {
  const out: string[] = [];
  if (field.min !== undefined) out.push(`at least ${field.min}`);
  if (field.max !== undefined) out.push(`at most ${field.max}`);
  if (field.pattern !== undefined) out.push(`matches \`/${field.pattern}/\``);
  return out;
}

/** A union's rule, in words: "exactly one of `set` and `delete` is given". */
export function unionRule(message: MessageDecl): string {
  return `exactly one of ${message.fields.map((field) => `\`${field.name}\``).join(", ").replace(/, ([^,]*)$/, " and $1")} is given`;
}
