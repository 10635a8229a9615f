import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { statusOf } from "@ottavo/component-runtime";
import type { SecretStore } from "@ottavo/generated/components/secret";
import { localAdapters, localFileSecretAdapter } from "../src";

let configDir: string;
const opened: SecretStore[] = [];

const context = () => ({ componentName: "secrets", appId: "app", configDir, settings: {} });
const none = { metadata: {} };

const secretsJson = {
  redisPassword: "pw",
  port: 6379,
  tls: true,
  connectionStrings: { sql: "sql-conn", nested: { mysql: "mysql-conn" } },
  hosts: ["h1", "h2"],
};

async function open(metadata: Record<string, unknown>): Promise<SecretStore> {
  const store = await localFileSecretAdapter.create(metadata, context());
  opened.push(store);
  return store;
}

beforeEach(async () => {
  configDir = await fs.mkdtemp(path.join(os.tmpdir(), "ottavo-secrets-"));
  await fs.writeFile(path.join(configDir, "secrets.json"), JSON.stringify(secretsJson));
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  await fs.rm(configDir, { recursive: true, force: true });
});

test("is registered as the 'local.file' secret adapter", () => {
  expect(localAdapters.map((a) => `${a.capability}/${a.type}`)).toContain("secret/local.file");
});

test("without multiValued, nested values are flattened into one secret per leaf", async () => {
  const store = await open({ secretsFile: "secrets.json" });
  expect(await store.get({ name: "redisPassword", ...none })).toEqual({ redisPassword: "pw" });
  expect(await store.get({ name: "connectionStrings:nested:mysql", ...none })).toEqual({
    "connectionStrings:nested:mysql": "mysql-conn",
  });
  expect(await store.bulkGet(none)).toEqual({
    redisPassword: { redisPassword: "pw" },
    port: { port: "6379" },
    tls: { tls: "true" },
    "connectionStrings:sql": { "connectionStrings:sql": "sql-conn" },
    "connectionStrings:nested:mysql": { "connectionStrings:nested:mysql": "mysql-conn" },
    "hosts:0": { "hosts:0": "h1" },
    "hosts:1": { "hosts:1": "h2" },
  });
  // The object itself is not a secret when flattened.
  expect(statusOf(await store.get({ name: "connectionStrings", ...none }).catch((e) => e))).toBe(
    "NOT_FOUND",
  );
});

test("nestedSeparator joins the keys", async () => {
  const store = await open({ secretsFile: "secrets.json", nestedSeparator: "." });
  expect(await store.get({ name: "connectionStrings.sql", ...none })).toEqual({ "connectionStrings.sql": "sql-conn" });
});

test("with multiValued, each top-level key is one secret holding its flattened leaves", async () => {
  const store = await open({ secretsFile: path.join(configDir, "secrets.json"), multiValued: "true" });
  expect(await store.get({ name: "connectionStrings", ...none })).toEqual({ sql: "sql-conn", "nested:mysql": "mysql-conn" });
  expect(await store.get({ name: "redisPassword", ...none })).toEqual({ redisPassword: "pw" });
  expect(await store.bulkGet(none)).toEqual({
    redisPassword: { redisPassword: "pw" },
    port: { port: "6379" },
    tls: { tls: "true" },
    connectionStrings: { sql: "sql-conn", "nested:mysql": "mysql-conn" },
    hosts: { "0": "h1", "1": "h2" },
  });
});

test("an unknown secret answers NOT_FOUND", async () => {
  const store = await open({ secretsFile: "secrets.json" });
  const err = await store.get({ name: "missing", ...none }).catch((e: unknown) => e);
  expect(statusOf(err)).toBe("NOT_FOUND");
});

test("a returned secret is a copy: changing it does not change the store", async () => {
  const store = await open({ secretsFile: "secrets.json" });
  const secret = await store.get({ name: "redisPassword", ...none });
  secret.redisPassword = "changed";
  expect(await store.get({ name: "redisPassword", ...none })).toEqual({ redisPassword: "pw" });
});

test("a missing secrets file stops the start with an error naming the file", async () => {
  await expect(open({ secretsFile: "absent.json" })).rejects.toThrow(
    `secrets file ${path.join(configDir, "absent.json")} cannot be read`,
  );
});

test("a malformed secrets file stops the start with an error naming the file", async () => {
  await fs.writeFile(path.join(configDir, "bad.json"), "{ not json");
  await expect(open({ secretsFile: "bad.json" })).rejects.toThrow(/bad\.json is not valid JSON/);
  await fs.writeFile(path.join(configDir, "list.json"), "[1, 2]");
  await expect(open({ secretsFile: "list.json" })).rejects.toThrow(/list\.json must hold a JSON object/);
});

test("two values flattening to one name stop the start", async () => {
  await fs.writeFile(path.join(configDir, "dup.json"), JSON.stringify({ "a:b": "x", a: { b: "y" } }));
  await expect(open({ secretsFile: "dup.json" })).rejects.toThrow(/dup\.json names the secret 'a:b' twice/);
});

test("secretsFile is required", async () => {
  await expect(open({})).rejects.toThrow(/secretsFile/);
});

test("health follows the file's readability", async () => {
  const store = await open({ secretsFile: "secrets.json" });
  await expect(store.health!()).resolves.toBeUndefined();
  await fs.rm(path.join(configDir, "secrets.json"));
  await expect(store.health!()).rejects.toThrow();
});
