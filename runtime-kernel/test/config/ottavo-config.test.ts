import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../src/config/config-error";
import { loadConfig, parseConfigText } from "../../src/config/load-config";
import { parseOttavoConfig } from "../../src/config/ottavo-config";

function problemsOf(text: string, file = "configs/broken.yaml"): readonly string[] {
  try {
    parseOttavoConfig(text, file, "/configs");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("Ottavo YAML config", () => {
  it("reads app, addresses and components, per capability in file order", () => {
    const config = parseOttavoConfig(
      `
app: { id: quickstart, callbackPort: 9999 }
api: { address: "unix:/tmp/ottavo.sock" }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    state_demo: { type: in-memory, metadata: { keyPrefix: name } }
    orders: { type: in-memory }
  sequencer:
    ids: { type: in-memory, biggerThan: { order: 1000 } }
`,
      "ottavo.yaml",
      "/etc/ottavo",
    );
    expect(config.format).toBe("ottavo");
    expect(config.app).toEqual({ id: "quickstart", callback: { host: "127.0.0.1", port: 9999 } });
    expect(config.api).toEqual({ kind: "unix", path: "/tmp/ottavo.sock" });
    expect(config.actuator).toEqual({ kind: "tcp", host: "127.0.0.1", port: 0 });
    expect(config.components).toEqual([
      { capability: "state", name: "state_demo", type: "in-memory", metadata: { keyPrefix: "name" }, extras: {} },
      { capability: "state", name: "orders", type: "in-memory", metadata: {}, extras: {} },
      { capability: "sequencer", name: "ids", type: "in-memory", metadata: {}, extras: { biggerThan: { order: 1000 } } },
    ]);
    expect(config.warnings).toEqual([]);
  });

  it("reads api.cors, with the defaults for what it leaves out; no cors section means off", () => {
    const config = parseOttavoConfig("api:\n  address: 127.0.0.1:0\n  cors: { allowedOrigins: [\"https://*.example.com\"], exposedHeaders: [x-id] }\n", "c.yaml", "/");
    expect(config.cors).toEqual({
      allowedOrigins: ["https://*.example.com"],
      allowedHeaders: [],
      exposedHeaders: ["x-id"],
      maxAgeSeconds: 600,
      allowCredentials: false,
    });
    expect(config.api).toEqual({ kind: "tcp", host: "127.0.0.1", port: 0 });
    expect(parseOttavoConfig("api: { address: 127.0.0.1:0 }", "c.yaml", "/").cors).toBeUndefined();
  });

  it("defaults to Layotto's ports, no app id and no components", () => {
    const config = parseOttavoConfig("", "empty.yaml", "/");
    expect(config.api).toEqual({ kind: "tcp", host: "127.0.0.1", port: 34904 });
    expect(config.actuator).toEqual({ kind: "tcp", host: "127.0.0.1", port: 34999 });
    expect(config.app).toEqual({ id: "" });
    expect(config.components).toEqual([]);
  });

  it("is chosen for .yaml and .yml; other names by content", () => {
    expect(parseConfigText("app: { id: a }", "x.yml").format).toBe("ottavo");
    expect(parseConfigText("app: { id: a }", "x.conf").format).toBe("ottavo");
    expect(parseConfigText('{"servers": [{"listeners": [{"address": "127.0.0.1:1", "filter_chains": [{"filters": [{"type": "grpc", "config": {"server_name": "runtime"}}]}]}]}]}', "x.conf").format).toBe("layotto");
  });

  it("resolves the config folder from the file name", () => {
    expect(parseConfigText("", "configs/x.yaml").configDir).toBe(path.resolve("configs"));
  });

  it("reads the embedded default config: one component of every kind under Layotto's example names", async () => {
    const config = await loadConfig(path.join(__dirname, "..", "..", "..", "configs", "default.yaml"));
    expect(config.components.map((c) => `${c.capability}/${c.name}/${c.type}`)).toEqual([
      "hello/quick_start_demo/helloworld",
      "state/state_demo/in-memory",
      "lock/lock_demo/in-memory",
      "sequencer/sequencer_demo/in-memory",
      "configuration/config_demo/in-memory",
      "pubsub/pub_subs_demo/in-memory",
      "file/file_demo/local",
      "secret/secret_demo/local.file",
      "secret/env/local.env",
      "binding/http/http",
    ]);
  });

  it("configs/layotto-config.json holds the same components as configs/default.yaml", async () => {
    const configs = path.join(__dirname, "..", "..", "..", "configs");
    const yaml = await loadConfig(path.join(configs, "default.yaml"));
    const json = await loadConfig(path.join(configs, "layotto-config.json"));
    const summary = (c: typeof yaml) =>
      c.components
        .map((x) => ({ capability: x.capability, name: x.name, type: x.type, metadata: { ...x.metadata, ...x.extras } }))
        .sort((a, b) => `${a.capability}/${a.name}`.localeCompare(`${b.capability}/${b.name}`));
    expect(summary(json)).toEqual(summary(yaml));
    expect(json.api).toEqual(yaml.api);
    expect(json.actuator).toEqual(yaml.actuator);
    expect(json.app).toEqual(yaml.app);
    expect(json.warnings).toEqual([]);
  });

  it("reads tracing (off unless enabled) and logging (text at info, no access log, by default)", () => {
    const defaults = parseOttavoConfig("app: { id: a }", "c.yaml", "/tmp");
    expect(defaults.tracing).toBeUndefined();
    expect(defaults.logging).toEqual({ level: "info", format: "text", accessLog: false });
    expect(parseOttavoConfig("tracing: { endpoint: http://otel:4318/v1/traces }", "c.yaml", "/tmp").tracing).toBeUndefined();
    const on = parseOttavoConfig(
      "app: { id: a }\ntracing: { enabled: true, sampleRatio: 0.25, headers: { x-api-key: k } }\nlogging: { level: WARNING, format: json, accessLog: true }",
      "c.yaml",
      "/tmp",
    );
    expect(on.tracing).toEqual({ endpoint: "http://127.0.0.1:4318/v1/traces", serviceName: undefined, sampleRatio: 0.25, exportIntervalMs: 5000, headers: { "x-api-key": "k" } });
    expect(on.logging).toEqual({ level: "warn", format: "json", accessLog: true });
  });

  it("reads metrics: on unless enabled is false", () => {
    expect(parseOttavoConfig("app: { id: a }", "c.yaml", "/tmp").metrics).toEqual({ enabled: true });
    expect(parseOttavoConfig("metrics: { enabled: true }", "c.yaml", "/tmp").metrics).toEqual({ enabled: true });
    expect(parseOttavoConfig("metrics: { enabled: false }", "c.yaml", "/tmp").metrics).toEqual({ enabled: false });
  });

  describe("errors", () => {
    it("unknown top-level keys, unknown capabilities and bad sections, all at once", () => {
      expect(
        problemsOf(`
app: { id: 7, callbackPort: 70000, name: x }
api: { address: "34904" }
actuator: 127.0.0.1:34999
component: {}
components:
  stat: { orders: { type: in-memory } }
  lock: [lock_demo]
  state:
    orders: { metadata: {} }
    carts: in-memory
`),
      ).toEqual([
        "configs/broken.yaml: unknown top-level key 'component'; known: app, api, actuator, limits, components, invoke, resiliency, wasm, tracing, logging, metrics",
        "configs/broken.yaml: unknown key 'app.name'; known: id, callbackPort, callbackHost, httpPort, httpHost",
        "configs/broken.yaml: 'app.id' must be a string",
        "configs/broken.yaml: 'app.callbackPort' must be a port number (1-65535)",
        "configs/broken.yaml: 'api.address' '34904' must be host:port (e.g. 127.0.0.1:34904) or unix:/path/to.sock",
        "configs/broken.yaml: 'actuator' must be a map with address",
        "configs/broken.yaml: unknown capability 'components.stat'; known: binding, configuration, file, hello, lock, nameresolution, pubsub, secret, sequencer, state",
        "configs/broken.yaml: components.lock must be a map of component names to components",
        "configs/broken.yaml: state component 'orders': missing 'type'",
        "configs/broken.yaml: state component 'carts': must be a map with at least 'type'",
      ]);
    });

    it("a port above 65535 and an address that is not a string", () => {
      expect(problemsOf("api: { address: 127.0.0.1:99999 }\nactuator: { address: 34999 }")).toEqual([
        "configs/broken.yaml: 'api.address' '127.0.0.1:99999' has a port above 65535",
        "configs/broken.yaml: 'actuator.address' must be a string such as 127.0.0.1:34904 or unix:/path/to.sock",
      ]);
    });

    it("api.cors: origins that are none, a bad max-age, unknown keys", () => {
      expect(problemsOf('api: { cors: { allowedOrigins: ["app.example.com", "*"], maxAge: -1, allowedHeader: [x] } }')).toEqual([
        "configs/broken.yaml: unknown key 'api.cors.allowedHeader'; known: allowedOrigins, allowedHeaders, exposedHeaders, maxAge, allowCredentials",
        "configs/broken.yaml: 'api.cors.allowedOrigins' entry 'app.example.com' is not an origin such as https://app.example.com, https://*.example.com or *",
        "configs/broken.yaml: 'api.cors.maxAge' must be whole seconds (0 or more)",
      ]);
      expect(problemsOf("api: { cors: {} }")).toEqual([`configs/broken.yaml: 'api.cors.allowedOrigins' must name at least one origin (or "*")`]);
    });

    it("a callback host without a port", () => {
      expect(problemsOf("app: { id: a, callbackHost: 10.0.0.1 }")).toEqual([
        "configs/broken.yaml: 'app.callbackHost' is given without 'app.callbackPort'",
      ]);
    });

    it("YAML syntax and duplicate keys, with line and column", () => {
      expect(problemsOf("components:\n  state:\n    a: { type: in-memory }\n    a: { type: in-memory }\n")).toEqual([
        "configs/broken.yaml:4:5: not valid YAML: Map keys must be unique",
      ]);
      expect(problemsOf("app: [\n")).toEqual([
        "configs/broken.yaml:2:1: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
      ]);
    });

    it("tracing and logging sections with bad values, every problem named", () => {
      expect(
        problemsOf(
          "tracing: { enabled: yes, endpoint: collector:4318, sampleRatio: 2, exportInterval: soon, header: {} }\n" +
            "logging: { level: loud, format: xml, accessLog: 1 }\n" +
            "metrics: { enabled: no, port: 9090 }",
        ),
      ).toEqual([
        "configs/broken.yaml: unknown key 'tracing.header'; known: enabled, endpoint, serviceName, sampleRatio, exportInterval, headers",
        "configs/broken.yaml: 'tracing.enabled' must be true or false",
        "configs/broken.yaml: 'tracing.endpoint' must be an http(s) URL such as http://127.0.0.1:4318/v1/traces",
        "configs/broken.yaml: 'tracing.sampleRatio' must be a number from 0 to 1",
        "configs/broken.yaml: 'tracing.exportInterval' must be a duration such as 5s or 500ms",
        "configs/broken.yaml: 'logging.level' must be one of error, warn, info, debug, trace",
        "configs/broken.yaml: 'logging.format' must be text or json",
        "configs/broken.yaml: 'logging.accessLog' must be true or false",
        "configs/broken.yaml: unknown key 'metrics.port'; known: enabled",
        "configs/broken.yaml: 'metrics.enabled' must be true or false",
      ]);
    });

    it("a document that is not a map", () => {
      expect(problemsOf("- a\n- b\n")).toEqual(["configs/broken.yaml: expected a map with app, api, actuator, limits, components, invoke, resiliency, wasm, tracing, logging, metrics"]);
    });

    it("a file that cannot be read", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "ottavo-config-"));
      await expect(loadConfig(path.join(dir, "missing.yaml"))).rejects.toThrow(
        new ConfigError([`${path.join(dir, "missing.yaml")}: cannot read the config file: no such file`]),
      );
      await expect(loadConfig(dir)).rejects.toThrow(`${dir}: cannot read the config file: is a directory`);
      writeFileSync(path.join(dir, "ok.yaml"), "app: { id: from-file }\n");
      expect((await loadConfig(path.join(dir, "ok.yaml"))).app.id).toBe("from-file");
      expect(readFileSync(path.join(dir, "ok.yaml"), "utf8")).toContain("from-file");
    });
  });
});
