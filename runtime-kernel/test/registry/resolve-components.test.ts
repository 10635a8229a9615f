import { readFileSync } from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../../src/config/config-error";
import { parseConfigText } from "../../src/config/load-config";
import { httpAdapters } from "@ottavo/adapter-http";
import { localAdapters } from "@ottavo/adapter-local";
import { memoryAdapters } from "@ottavo/adapter-memory";
import { AdapterRegistry } from "../../src/registry/adapter-registry";
import { resolveComponents } from "../../src/registry/resolve-components";
import { defineVendorAdapter } from "@ottavo/component-runtime";

// The packages named here, not the default registry, so "known types" lists stay fixed as backends are added.
const registry = new AdapterRegistry([...memoryAdapters, ...localAdapters, ...httpAdapters]);

function resolve(text: string, file: string) {
  return resolveComponents(parseConfigText(text, file), registry);
}

function problemsOf(text: string, file: string): readonly string[] {
  try {
    resolve(text, file);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

function layotto(grpcConfig: unknown): string {
  return JSON.stringify({
    servers: [
      {
        listeners: [
          {
            name: "grpc",
            address: "127.0.0.1:34904",
            filter_chains: [{ filters: [{ type: "grpc", config: { server_name: "runtime", grpc_config: grpcConfig } }] }],
          },
        ],
      },
    ],
  });
}

describe("resolving components against their adapters", () => {
  it("folds a top-level key the adapter declares as metadata (Layotto's helloworld 'hello') into metadata", () => {
    const { components } = resolve(layotto({ hellos: { quick_start_demo: { type: "helloworld", hello: "greetings" } } }), "config.json");
    expect(components).toHaveLength(1);
    expect(components[0].metadata).toEqual({ hello: "greetings" });
    expect(components[0].settings).toEqual({});
    expect(components[0].factory.type).toBe("helloworld");
  });

  it("passes other top-level keys as settings (Layotto's sequencer biggerThan, config_store address and timeout)", () => {
    const { components } = resolve(
      layotto({
        sequencer: { sequencer_demo: { type: "in-memory", biggerThan: { key1: 10 }, metadata: {} } },
        config_store: { config_demo: { type: "in-memory", address: ["127.0.0.1:2379"], timeout: "10" } },
      }),
      "config.json",
    );
    expect(components.map((c) => [c.config.name, c.metadata, c.settings])).toEqual([
      ["sequencer_demo", {}, { biggerThan: { key1: 10 } }],
      ["config_demo", {}, { address: ["127.0.0.1:2379"], timeout: "10" }],
    ]);
  });

  it("warns about unknown metadata keys by name, never by value", () => {
    const { warnings } = resolve(
      "components:\n  pubsub:\n    pub_subs_demo: { type: in-memory, metadata: { consumerID: '1', password: hunter2 } }\n",
      "ottavo.yaml",
    );
    expect(warnings).toEqual([
      "ottavo.yaml: pubsub component 'pub_subs_demo' (type 'in-memory'): unknown metadata key 'consumerID'; ignored",
      "ottavo.yaml: pubsub component 'pub_subs_demo' (type 'in-memory'): unknown metadata key 'password'; ignored",
    ]);
    expect(warnings.join("\n")).not.toContain("hunter2");
  });

  it("reads a deprecated metadata name into its replacement, with a warning naming both, never the value", () => {
    const renamed = defineVendorAdapter({
      capability: "hello",
      type: "renamed",
      features: [],
      metadata: [
        { name: "greeting", type: "string", required: true, sensitive: false, aliases: [], deprecated: ["hello"], description: "" },
      ] as const,
      create: async () => {
        throw new Error("not created here");
      },
    });
    const { components, warnings } = resolveComponents(
      parseConfigText("components:\n  hello:\n    greeter: { type: renamed, metadata: { hello: hunter2 } }\n", "ottavo.yaml"),
      new AdapterRegistry([renamed], [{ capability: "hello", type: "renamed", features: [] }]),
    );
    expect(components.map((c) => c.metadata)).toEqual([{ hello: "hunter2" }]);
    expect(warnings).toEqual([
      "ottavo.yaml: hello component 'greeter' (type 'renamed'): metadata field 'hello' is deprecated; give 'greeting' instead (read as 'greeting')",
    ]);
  });

  it("validates the capability's own metadata (keyPrefix) for a vendor's adapter that does not declare it, without an unknown-key warning", () => {
    const vendor = defineVendorAdapter({
      capability: "sequencer",
      type: "vendor",
      features: [],
      metadata: [] as const,
      create: async () => {
        throw new Error("not created here");
      },
    });
    const vendorRegistry = new AdapterRegistry([vendor], [{ capability: "sequencer", type: "vendor", features: [] }]);
    const config = (prefix: string) => parseConfigText(`components:\n  sequencer:\n    ids: { type: vendor, metadata: { keyPrefix: '${prefix}' } }\n`, "ottavo.yaml");
    expect(resolveComponents(config("name"), vendorRegistry).warnings).toEqual([]);
    expect(() => resolveComponents(config("a||b"), vendorRegistry)).toThrow(
      new ConfigError(["ottavo.yaml: sequencer component 'ids' (type 'vendor'): metadata field 'keyPrefix' must match /^(?![^]*[|][|])/"]),
    );
  });

  it("reads the embedded default config and the Layotto example without problems or warnings", () => {
    for (const name of ["default.yaml", "layotto-config.json"]) {
      const file = path.join(__dirname, "..", "..", "..", "configs", name);
      const { components, warnings } = resolve(readFileSync(file, "utf8"), file);
      expect(components).toHaveLength(10);
      expect(warnings).toEqual([]);
    }
  });

  describe("errors name the file, the capability, the component and the field", () => {
    it("an unknown type lists the known types of that capability", () => {
      expect(problemsOf("components:\n  state:\n    orders: { type: in-memroy }\n", "configs/broken.yaml")).toEqual([
        "configs/broken.yaml: state component 'orders' (type 'in-memroy'): unknown type; known state types: in-memory",
      ]);
    });

    it("a missing required field", () => {
      expect(problemsOf(layotto({ secret_store: { secrets: { type: "local.file", metadata: {} } } }), "config.json")).toEqual([
        "config.json: secret component 'secrets' (type 'local.file'): missing required metadata field 'secretsFile'",
      ]);
    });

    it("a wrong type, without echoing the value", () => {
      const problems = problemsOf(
        "components:\n  binding:\n    http: { type: http, metadata: { url: http://x, responseTimeout: soon-ish, maxResponseBytes: lots } }\n",
        "ottavo.yaml",
      );
      expect(problems).toEqual([
        `ottavo.yaml: binding component 'http' (type 'http'): metadata field 'responseTimeout' must be a duration such as "5s", "250ms" or "1m30s", or milliseconds`,
        "ottavo.yaml: binding component 'http' (type 'http'): metadata field 'maxResponseBytes' must be an integer",
      ]);
      expect(problems.join("\n")).not.toMatch(/soon-ish|lots/);
    });

    it("a field given both beside metadata and inside it", () => {
      expect(
        problemsOf(
          layotto({ hellos: { quick_start_demo: { type: "helloworld", hello: "a", metadata: { hello: "b" } } } }),
          "config.json",
        ),
      ).toEqual(["config.json: hello component 'quick_start_demo' (type 'helloworld'): 'hello' is given both beside 'metadata' and inside it"]);
    });

    it("every problem of the file at once, in file order", () => {
      expect(
        problemsOf(
          `components:
  state:
    orders: { type: in-memroy }
  secret:
    secrets: { type: local.file }
  file:
    files: { type: s3 }
  binding:
    http: { type: http }
`,
          "configs/broken.yaml",
        ),
      ).toEqual([
        "configs/broken.yaml: state component 'orders' (type 'in-memroy'): unknown type; known state types: in-memory",
        "configs/broken.yaml: secret component 'secrets' (type 'local.file'): missing required metadata field 'secretsFile'",
        "configs/broken.yaml: file component 'files' (type 's3'): unknown type; known file types: local",
        "configs/broken.yaml: binding component 'http' (type 'http'): missing required metadata field 'url'",
      ]);
    });

    it("known types are listed sorted", () => {
      expect(problemsOf("components:\n  secret:\n    s: { type: vault }\n", "c.yaml")).toEqual([
        "c.yaml: secret component 's' (type 'vault'): unknown type; known secret types: local.env, local.file",
      ]);
    });
  });
});
