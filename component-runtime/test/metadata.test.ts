import { MetadataError, parseDuration, parseMetadata, unknownMetadataKeys, type MetadataFieldSpec } from "../src/metadata";

const fields: MetadataFieldSpec[] = [
  { name: "redisHost", type: "string", default: "localhost:6379", required: false, sensitive: false, aliases: ["host"], description: "" },
  { name: "redisPassword", type: "string", required: false, sensitive: true, aliases: ["password"], description: "" },
  { name: "redisDB", type: "int", default: 0, required: false, sensitive: false, aliases: ["db"], description: "" },
  { name: "enableTLS", type: "bool", default: false, required: false, sensitive: false, aliases: [], description: "" },
  { name: "ratio", type: "number", required: false, sensitive: false, aliases: [], description: "" },
  { name: "dialTimeout", type: "duration", default: "5s", required: false, sensitive: false, aliases: [], description: "" },
  { name: "appId", type: "string", required: true, sensitive: false, aliases: [], description: "" },
];

function problems(raw: Record<string, unknown>): readonly string[] {
  try {
    parseMetadata(raw, fields);
  } catch (err) {
    if (err instanceof MetadataError) return err.problems;
    throw err;
  }
  return [];
}

it("reads values under names and aliases, in any case, with defaults and types", () => {
  expect(parseMetadata({ HOST: "r:1", redisdb: "3", EnableTLS: "true", ratio: "0.25", DialTimeout: "1m30s", appId: 7 }, fields)).toEqual({
    redisHost: "r:1",
    redisDB: 3,
    enableTLS: true,
    ratio: 0.25,
    dialTimeout: 90_000,
    appId: "7",
  });
  expect(parseMetadata({ appId: "a", dialTimeout: "250" }, fields)).toMatchObject({ redisHost: "localhost:6379", redisDB: 0, enableTLS: false, dialTimeout: 250 });
});

it("lists every problem at once, naming each field", () => {
  expect(problems({ redisDB: "x", enableTLS: "maybe", dialTimeout: "soon" })).toEqual([
    `metadata field 'redisDB' must be an integer, not "x"`,
    `metadata field 'enableTLS' must be true or false, not "maybe"`,
    `metadata field 'dialTimeout' must be a duration such as "5s", "250ms" or "1m30s", or milliseconds, not "soon"`,
    "missing required metadata field 'appId'",
  ]);
});

it("never echoes a sensitive value", () => {
  expect(problems({ appId: "a", password: { secret: "hunter2" } })).toEqual(["metadata field 'password' must be a string"]);
});

it("refuses a field given twice, under its name and an alias", () => {
  expect(problems({ appId: "a", redisHost: "a:1", Host: "b:2" })).toEqual(["metadata field 'redisHost' is given more than once (as 'redisHost' and 'Host')"]);
});

it("reports keys no field declares, in any case", () => {
  expect(unknownMetadataKeys({ HOST: "x", consumerID: "c", appid: "a" }, fields)).toEqual(["consumerID"]);
});

it("reads Go-style durations and bare milliseconds", () => {
  expect([parseDuration("2h"), parseDuration("1.5s"), parseDuration("100"), parseDuration("5 s"), parseDuration("-1s")]).toEqual([7_200_000, 1500, 100, undefined, undefined]);
});

describe("constraints the spec declares", () => {
  const constrained: MetadataFieldSpec[] = [
    { name: "retries", type: "int", default: 3, required: false, sensitive: false, aliases: [], description: "", min: 0, max: 10 },
    { name: "wait", type: "duration", required: false, sensitive: false, aliases: ["delay"], description: "", min: 1, excludes: ["retries"] },
    { name: "mode", type: "string", default: "fast", required: false, sensitive: false, aliases: [], description: "", oneOf: ["fast", "Safe"] },
    { name: "secret", type: "int", required: false, sensitive: true, aliases: [], description: "", max: 5 },
  ];
  const problems = (raw: Record<string, unknown>) => {
    try {
      parseMetadata(raw, constrained);
      return [];
    } catch (e) {
      return (e as MetadataError).problems;
    }
  };

  it("reports min, max, oneOf and excludes together, never echoing a sensitive value", () => {
    expect(problems({ retries: "11", delay: "0", mode: "slow", secret: 9 })).toEqual([
      "metadata field 'retries' must be at most 10, not 11",
      "metadata field 'delay' must be at least 1ms, not 0",
      `metadata field 'mode' must be one of "fast", "Safe", not "slow"`,
      "metadata field 'secret' must be at most 5",
      "give one of metadata fields 'wait' and 'retries', not both",
    ]);
  });

  it("matches oneOf in any case and reads the value as the spec spells it; defaults are not 'given'", () => {
    expect(parseMetadata<{ mode: string; retries: number }>({ mode: " SAFE ", wait: "2s" }, constrained)).toMatchObject({ mode: "Safe", retries: 3, wait: 2000 });
  });
});

describe("patterns and deprecated names", () => {
  const fields: MetadataFieldSpec[] = [
    { name: "prefix", type: "string", required: true, sensitive: false, aliases: [], description: "", pattern: "\\S" },
    { name: "token", type: "string", required: false, sensitive: true, aliases: [], description: "", pattern: "^[a-f0-9]+$" },
    { name: "consumerGroup", type: "string", required: false, sensitive: false, aliases: ["group"], description: "", deprecated: ["consumerID"] },
  ];
  const parse = (raw: Record<string, unknown>) => {
    const warnings: string[] = [];
    try {
      return { value: parseMetadata<Record<string, unknown>>(raw, fields, { warn: (w) => warnings.push(w) }), problems: [], warnings };
    } catch (e) {
      return { value: undefined, problems: (e as MetadataError).problems, warnings };
    }
  };

  it("refuses a value that does not match the pattern, never echoing a sensitive one", () => {
    expect(parse({ prefix: "  ", token: "XYZ" }).problems).toEqual([
      `metadata field 'prefix' must match /\\S/, not "  "`,
      "metadata field 'token' must match /^[a-f0-9]+$/",
    ]);
    expect(parse({ prefix: "APP_", token: "beef" }).value).toEqual({ prefix: "APP_", token: "beef" });
  });

  it("reads a deprecated name as its replacement, with a warning, and refuses both at once", () => {
    const old = parse({ prefix: "p", ConsumerID: "g1" });
    expect(old.value).toEqual({ prefix: "p", consumerGroup: "g1" });
    expect(old.warnings).toEqual(["metadata field 'ConsumerID' is deprecated; give 'consumerGroup' instead (read as 'consumerGroup')"]);
    expect(parse({ prefix: "p", consumerGroup: "g2" })).toEqual({ value: { prefix: "p", consumerGroup: "g2" }, problems: [], warnings: [] });
    expect(parse({ prefix: "p", consumerGroup: "g2", consumerID: "g1" }).problems).toEqual([
      "metadata field 'consumerGroup' is given more than once (as 'consumerGroup' and 'consumerID')",
    ]);
    expect(unknownMetadataKeys({ consumerID: "g1", other: 1 }, fields)).toEqual(["other"]);
  });
});

describe("bounds by another field", () => {
  const fields: MetadataFieldSpec[] = [
    { name: "backoff", type: "duration", default: "100ms", required: false, sensitive: false, aliases: [], description: "" },
    { name: "maxBackoff", type: "duration", default: "10s", required: false, sensitive: false, aliases: [], description: "", minField: "backoff" },
    { name: "low", type: "int", required: false, sensitive: false, aliases: [], description: "", maxField: "high" },
    { name: "high", type: "int", required: false, sensitive: true, aliases: [], description: "" },
  ];
  const problems = (raw: Record<string, unknown>) => {
    try {
      parseMetadata(raw, fields);
      return [];
    } catch (e) {
      return (e as MetadataError).problems;
    }
  };

  it("compares the values read, defaults included, and skips a bound that is absent", () => {
    expect(problems({})).toEqual([]);
    expect(problems({ backoff: "1s", maxBackoff: "1s", low: 3 })).toEqual([]);
    expect(problems({ backoff: "20s" })).toEqual(["metadata field 'maxBackoff' must be at least 'backoff' (20000ms), not 10000ms"]);
    // A sensitive bound is never shown.
    expect(problems({ low: 5, high: 4 })).toEqual(["metadata field 'low' must be at most 'high'"]);
  });
});

describe("required when another field has a value", () => {
  const fields: MetadataFieldSpec[] = [
    { name: "authType", type: "string", default: "none", required: false, sensitive: false, aliases: [], description: "", oneOf: ["none", "password"] },
    { name: "user", type: "string", required: false, sensitive: false, aliases: [], description: "", requiredWhen: { field: "authType", value: "password" } },
  ];
  const problems = (raw: Record<string, unknown>) => {
    try {
      parseMetadata(raw, fields);
      return [];
    } catch (e) {
      return (e as MetadataError).problems;
    }
  };

  it("requires the field, not blank, only when the other has the value (matched as the spec spells it)", () => {
    expect(problems({})).toEqual([]);
    expect(problems({ authType: "PASSWORD", user: "u" })).toEqual([]);
    expect(problems({ authType: "Password" })).toEqual([`metadata field 'user' is required with authType "password"`]);
    expect(problems({ authType: "password", user: " " })).toEqual([`metadata field 'user' is required with authType "password"`]);
  });
});
