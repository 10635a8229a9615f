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
  readonly description: string;
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
export function parseMetadata<T>(raw: RawMetadata, fields: readonly MetadataFieldSpec[]): T {
  const values: Record<string, string | number | boolean> = {};
  const problems: string[] = [];
  for (const field of fields) {
    // Declaration order (name, then aliases), so messages do not depend on the config's key order.
    const names = [field.name, ...field.aliases].map((name) => name.toLowerCase());
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
    const read = readValue(field, raw[given[0]]);
    if (read.problem !== undefined) problems.push(`metadata field '${given[0]}' ${read.problem}`);
    else values[field.name] = read.value!;
  }
  if (problems.length > 0) throw new MetadataError(problems);
  return values as T;
}

/** The keys of raw that no field declares, under its name or an alias (in any case). */
export function unknownMetadataKeys(raw: RawMetadata, fields: readonly MetadataFieldSpec[]): string[] {
  const known = new Set(fields.flatMap((f) => [f.name, ...f.aliases]).map((name) => name.toLowerCase()));
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
