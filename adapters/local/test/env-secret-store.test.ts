import { statusOf } from "@ottavo/component-runtime";
import { localAdapters, localEnvSecretAdapter } from "../src";

const context = { componentName: "env", appId: "app", configDir: "/", settings: {} };
const none = { metadata: {} };
const saved = { ...process.env };

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
});

test("is registered as the 'local.env' secret adapter", () => {
  expect(localAdapters.map((a) => `${a.capability}/${a.type}`)).toContain("secret/local.env");
});

test("requires a prefix, so the rest of the environment stays out of reach (issue 11, finding 10)", async () => {
  process.env.OTTAVO_TEST_PLAIN = "plain-value";
  await expect(localEnvSecretAdapter.create({}, context)).rejects.toThrow(/prefix/);
  // local.cap declares the prefix not blank (pattern "\\S"); the generated parser refuses it.
  await expect(localEnvSecretAdapter.create({ prefix: "" }, context)).rejects.toThrow(`metadata field 'prefix' must match /\\S/, not ""`);
  await expect(localEnvSecretAdapter.create({ prefix: "  " }, context)).rejects.toThrow(`metadata field 'prefix' must match /\\S/, not "  "`);
});

test("with a prefix only matching variables count, named without the prefix", async () => {
  process.env.OTTAVO_TEST_DB_PASSWORD = "s3cret";
  process.env.OTTAVO_TEST_API_KEY = "k";
  process.env.OTHER_OTTAVO_VAR = "not mine";
  const store = await localEnvSecretAdapter.create({ prefix: "OTTAVO_TEST_" }, context);

  expect(await store.get({ name: "DB_PASSWORD", ...none })).toEqual({ DB_PASSWORD: "s3cret" });
  expect(await store.bulkGet(none)).toEqual({
    DB_PASSWORD: { DB_PASSWORD: "s3cret" },
    API_KEY: { API_KEY: "k" },
  });
  const err = await store.get({ name: "OTTAVO_TEST_DB_PASSWORD", ...none }).catch((e: unknown) => e);
  expect(statusOf(err)).toBe("NOT_FOUND");
});

test("variables are read at call time", async () => {
  const store = await localEnvSecretAdapter.create({ prefix: "OTTAVO_LATE_" }, context);
  const before = await store.get({ name: "TOKEN", ...none }).catch((e: unknown) => e);
  expect(statusOf(before)).toBe("NOT_FOUND");
  process.env.OTTAVO_LATE_TOKEN = "now";
  expect(await store.get({ name: "TOKEN", ...none })).toEqual({ TOKEN: "now" });
});

test("an unset variable answers NOT_FOUND", async () => {
  const store = await localEnvSecretAdapter.create({ prefix: "OTTAVO_" }, context);
  const err = await store.get({ name: "SURELY_NOT_SET_ANYWHERE", ...none }).catch((e: unknown) => e);
  expect(statusOf(err)).toBe("NOT_FOUND");
  expect(store.features.size).toBe(0);
});
