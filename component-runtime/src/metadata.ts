import { compiledPattern } from "./pattern-cache";

/** The kinds of value a metadata field holds; durations are read into milliseconds. */
export type MetadataType = "string" | "bool" | "int" | "number" | "duration";

/** One metadata field an adapter declares in spec/components. */
export interface MetadataFieldSpec {
  readonly name: string;
  readonly type: MetadataType;
  readonly default?: string | number | boolean;
  readonly required: boolean;
  /** Never echoed in errors, logs or the actuator. */
  readonly sensitive: boolean;
  /** Other names the field is accepted under (Layotto's or Dapr's spelling). */
  readonly aliases: readonly string[];
  /** Inclusive bounds of a number, integer or duration (milliseconds). */
  readonly min?: number;
  readonly max?: number;
  /** Bounds by another field of the same metadata (inclusive), checked when both have a value. */
  readonly minField?: string;
  readonly maxField?: string;
  /** The only values a string may take, matched in any case and read as written here. */
  readonly oneOf?: readonly string[];
  /** Fields that may not be given together with this one. */
  readonly excludes?: readonly string[];
  /** A regular expression (JavaScript, unicode mode) a string value must match. */
  readonly pattern?: string;
  /** Required, and not blank, when another field of the same metadata has this value (as the spec spells it). */
  readonly requiredWhen?: { readonly field: string; readonly value: string | number | boolean };
  /** Old names of the field: still accepted, with a warning, and read as this field. */
  readonly deprecated?: readonly string[];
  readonly description: string;
}

/** How parseMetadata reports what it accepts but wants changed (a deprecated name). */
export interface MetadataParseOptions {
  readonly warn?: (message: string) => void;
}

/** Metadata as a config file gives it: JSON and YAML values, often all strings. */
export type RawMetadata = Readonly<Record<string, unknown>>;

/** Every problem found in one component's metadata, each naming the field. */
export class MetadataError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("; "));
    this.name = "MetadataError";
  }
}

/**
 * Reads raw metadata against the declared fields: aliases, defaults, required
 * fields and types. Names match in any case, as Dapr matches them (clientId and
 * clientID are one field). Throws a MetadataError listing every problem at once.
 */
export function parseMetadata<T>(raw: RawMetadata, fields: readonly MetadataFieldSpec[], options: MetadataParseOptions = {}): T {
  const values: Record<string, string | number | boolean> = {};
  const problems: string[] = [];
  for (const field of fields) {
    // Declaration order (name, aliases, deprecated names), so messages do not depend on the config's key order.
    const names = keysOf(field);
    const given = Object.keys(raw)
      .filter((key) => names.includes(key.toLowerCase()) && raw[key] !== undefined && raw[key] !== null)
      .sort((a, b) => names.indexOf(a.toLowerCase()) - names.indexOf(b.toLowerCase()));
    if (given.length > 1) {
      problems.push(`metadata field '${field.name}' is given more than once (as ${given.map((k) => `'${k}'`).join(" and ")})`);
      continue;
    }
    if (given.length === 0) {
      if (field.required) problems.push(`missing required metadata field '${field.name}'`);
      else if (field.default !== undefined) values[field.name] = readValue(field, field.default).value!;
      continue;
    }
    const deprecated = field.deprecated?.find((old) => old.toLowerCase() === given[0].toLowerCase());
    if (deprecated !== undefined) options.warn?.(`metadata field '${given[0]}' is deprecated; give '${field.name}' instead (read as '${field.name}')`);
    const read = readValue(field, raw[given[0]]);
    const problem = read.problem ?? constraintProblem(field, read.value!);
    if (problem !== undefined) problems.push(`metadata field '${given[0]}' ${problem}`);
    else values[field.name] = canonical(field, read.value!);
  }
  for (const field of fields) {
    const when = field.requiredWhen;
    if (when !== undefined && values[when.field] === when.value) {
      const value = values[field.name];
      if (value === undefined || (typeof value === "string" && value.trim() === "")) {
        problems.push(`metadata field '${field.name}' is required with ${when.field} ${JSON.stringify(when.value)}`);
      }
    }
    for (const [other, atLeast] of [[field.minField, true], [field.maxField, false]] as const) {
      const value = values[field.name];
      const bound = other === undefined ? undefined : values[other];
      if (typeof value !== "number" || typeof bound !== "number") continue;
      if (atLeast ? value >= bound : value <= bound) continue;
      const unit = field.type === "duration" ? "ms" : "";
      const shown = field.sensitive || fields.find((f) => f.name === other)?.sensitive ? "" : ` (${bound}${unit}), not ${value}${unit}`;
      problems.push(`metadata field '${field.name}' must be at ${atLeast ? "least" : "most"} '${other}'${shown}`);
    }
    for (const other of field.excludes ?? []) {
      if (isGiven(raw, field) && isGiven(raw, fields.find((f) => f.name === other))) {
        problems.push(`give one of metadata fields '${field.name}' and '${other}', not both`);
      }
    }
  }
  if (problems.length > 0) throw new MetadataError(problems);
  return values as T;
}

/** A oneOf value as the spec spells it. */
function canonical(field: MetadataFieldSpec, value: string | number | boolean): string | number | boolean {
  if (field.oneOf === undefined || typeof value !== "string") return value;
  return field.oneOf.find((allowed) => allowed.toLowerCase() === value.trim().toLowerCase()) ?? value;
}

/** The keys a field is given under, lower-cased: its name, aliases and deprecated names. */
function keysOf(field: MetadataFieldSpec): string[] {
  return [field.name, ...field.aliases, ...(field.deprecated ?? [])].map((name) => name.toLowerCase());
}

/** Whether raw gives the field, under its name, an alias or a deprecated name. */
function isGiven(raw: RawMetadata, field: MetadataFieldSpec | undefined): boolean {
  if (field === undefined) return false;
  const names = keysOf(field);
  return Object.keys(raw).some((key) => names.includes(key.toLowerCase()) && raw[key] !== undefined && raw[key] !== null);
}

/**
 * What the spec's min, max and oneOf say of a value read; a oneOf match is
 * case-insensitive, and the value becomes the spelling the spec gives.
 */
function constraintProblem(field: MetadataFieldSpec, value: string | number | boolean): string | undefined {
  const shown = field.sensitive ? "" : `, not ${JSON.stringify(value)}`;
  const unit = field.type === "duration" ? "ms" : "";
  if (typeof value === "number") {
    if (field.min !== undefined && value < field.min) return `must be at least ${field.min}${unit}${shown}`;
    if (field.max !== undefined && value > field.max) return `must be at most ${field.max}${unit}${shown}`;
  }
  if (field.oneOf !== undefined && typeof value === "string") {
    if (!field.oneOf.some((allowed) => allowed.toLowerCase() === value.trim().toLowerCase())) {
      return `must be one of ${field.oneOf.map((v) => JSON.stringify(v)).join(", ")}${shown}`;
    }
  }
  if (field.pattern !== undefined && typeof value === "string" && !compiledPattern(field.pattern).test(value)) {
    return `must match /${field.pattern}/${shown}`;
  }
  return undefined;
}

/** The keys of raw that no field declares, under its name, an alias or a deprecated name (in any case). */
export function unknownMetadataKeys(raw: RawMetadata, fields: readonly MetadataFieldSpec[]): string[] {
  const known = new Set(fields.flatMap(keysOf));
  return Object.keys(raw).filter((key) => !known.has(key.toLowerCase()));
}

/** Go-style durations ("1m30s", "250ms", "2h"); a bare integer means milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const m of trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * durationUnits[m[2]];
  }
  return total;
}

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const expected: Record<MetadataType, string> = {
  string: "a string",
  bool: "true or false",
  int: "an integer",
  number: "a number",
  duration: 'a duration such as "5s", "250ms" or "1m30s", or milliseconds',
};

function readValue(field: MetadataFieldSpec, value: unknown): { value?: string | number | boolean; problem?: string } {
  const fail = () => ({
    problem: field.sensitive
      ? `must be ${expected[field.type]}`
      : `must be ${expected[field.type]}, not ${JSON.stringify(value)}`,
  });
  switch (field.type) {
    case "string":
      return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
        ? { value: String(value) }
        : fail();
    case "bool": {
      if (typeof value === "boolean") return { value };
      const text = String(value).trim().toLowerCase();
      if (text === "true" || text === "1") return { value: true };
      if (text === "false" || text === "0") return { value: false };
      return fail();
    }
    case "int": {
      const n = typeof value === "number" ? value : /^\s*-?\d+\s*$/.test(String(value)) ? Number(value) : NaN;
      return Number.isSafeInteger(n) ? { value: n } : fail();
    }
    case "number": {
      const n = typeof value === "number" ? value : String(value).trim() === "" ? NaN : Number(value);
      return Number.isFinite(n) ? { value: n } : fail();
    }
    case "duration": {
      const ms = typeof value === "number" ? value : parseDuration(String(value));
      return ms !== undefined && Number.isFinite(ms) && ms >= 0 ? { value: ms } : fail();
    }
  }
}
