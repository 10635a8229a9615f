import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describeConformance, hasConformanceSuite, SECRET_FIXTURE } from "@ottavo/conformance";
import { localAdapters, localEnvSecretAdapter, localFileAdapter, localFileSecretAdapter } from "@ottavo/adapter-local";

// Each adapter of the local package against its capability's suite: the file store
// under a temporary root, the secret stores seeded with the suite's fixture (a JSON
// file; environment variables under a prefix of this run).
const dir = mkdtempSync(path.join(tmpdir(), "ottavo-conformance-local-"));
const secretsFile = path.join(dir, "secrets.json");
writeFileSync(secretsFile, JSON.stringify(SECRET_FIXTURE));
const envPrefix = `CONFTEST_${process.pid}_`;
for (const [name, value] of Object.entries(SECRET_FIXTURE)) process.env[envPrefix + name] = value;
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const name of Object.keys(SECRET_FIXTURE)) delete process.env[envPrefix + name];
});

it("covers every adapter of the local package: the file store and both secret stores", () => {
  expect(localAdapters.filter((f) => hasConformanceSuite(f.capability)).map((f) => `${f.type} ${f.capability}`).sort()).toEqual([
    "local file",
    "local.env secret",
    "local.file secret",
  ]);
});

describeConformance({ factory: localFileAdapter, metadata: { rootDir: path.join(dir, "files") } });
describeConformance({ factory: localFileSecretAdapter, metadata: { secretsFile } });
describeConformance({ factory: localEnvSecretAdapter, metadata: { prefix: envPrefix } });
