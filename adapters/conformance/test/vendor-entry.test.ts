import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { loadVendorTargets } from "@ottavo/conformance";

const root = path.resolve(__dirname, "../../..");
const fixture = "adapters/conformance/test/fixtures/example-vendor-sequencer.ts";

describe("loadVendorTargets (CONFORMANCE_* variables)", () => {
  it("fails with the usage text when CONFORMANCE_ADAPTER is unset", () => {
    expect(() => loadVendorTargets({}, root)).toThrow(
      /CONFORMANCE_ADAPTER is not set[\s\S]*npx jest -c adapters\/conformance\/jest\.vendor\.config\.js/,
    );
  });

  it("finds every factory a module exports, once each, and filters by capability and type", () => {
    const all = loadVendorTargets({ CONFORMANCE_ADAPTER: "adapters/memory/src/index.ts" }, root);
    expect(all.targets.map((t) => `${t.factory.type} ${t.factory.capability}`).sort()).toEqual([
      "in-memory configuration",
      "in-memory lock",
      "in-memory pubsub",
      "in-memory sequencer",
      "in-memory state",
    ]);
    // No conformance suite for hello and nameresolution yet: those factories are listed as skipped.
    expect([...all.skipped].sort()).toEqual(["helloworld hello", "static nameresolution"]);
    const lock = loadVendorTargets({ CONFORMANCE_ADAPTER: "./adapters/memory/src", CONFORMANCE_CAPABILITY: "lock" }, root);
    expect(lock.targets.map((t) => t.factory.capability)).toEqual(["lock"]);
  });

  it("passes metadata and settings through, and rejects JSON that is not an object without echoing it", () => {
    const env = { CONFORMANCE_ADAPTER: fixture, CONFORMANCE_METADATA: '{"redisHost":"127.0.0.1:1"}', CONFORMANCE_SETTINGS: '{"biggerThan":{"k":5}}' };
    const [target] = loadVendorTargets(env, root).targets;
    expect(target.metadata).toEqual({ redisHost: "127.0.0.1:1" });
    expect(target.settings).toEqual({ biggerThan: { k: 5 } });
    const broken = { ...env, CONFORMANCE_METADATA: '{"redisPassword":"s3cret"' };
    expect(() => loadVendorTargets(broken, root)).toThrow(/CONFORMANCE_METADATA is not valid JSON/);
    expect(() => loadVendorTargets(broken, root)).not.toThrow(/s3cret/);
    expect(() => loadVendorTargets({ ...env, CONFORMANCE_METADATA: "[1]" }, root)).toThrow(/must be a JSON object, not an array/);
  });

  it("says so when the module cannot be loaded or exports no factory with a suite", () => {
    expect(() => loadVendorTargets({ CONFORMANCE_ADAPTER: "./no/such/module" }, root)).toThrow(/'\.\/no\/such\/module' could not be loaded/);
    expect(() => loadVendorTargets({ CONFORMANCE_ADAPTER: fixture, CONFORMANCE_TYPE: "redis" }, root)).toThrow(
      /exports no adapter factory of type redis with a conformance suite/,
    );
  });
});

describe("the documented vendor command", () => {
  it("runs the suites against the module's factories and passes", async () => {
    const { stdout, stderr } = await promisify(execFile)("npx", ["jest", "-c", "adapters/conformance/jest.vendor.config.js", "--ci", "--verbose"], {
      cwd: root,
      env: { ...process.env, CONFORMANCE_ADAPTER: fixture, CONFORMANCE_METADATA: "{}" },
      timeout: 120_000,
    });
    const report = stdout + stderr;
    expect(report).toMatch(/conformance: example-vendor sequencer from/);
    expect(report).toMatch(/SEGMENT/);
    expect(report).toMatch(/Tests:\s+\d+ passed, \d+ total/);
  }, 150_000);
});
