import { readFileSync } from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../../src/config/config-error";
import { parseLayottoConfig } from "../../src/config/layotto-config";
import { parseConfigText } from "../../src/config/load-config";

const fixture = readFileSync(path.join(__dirname, "..", "fixtures", "layotto-standalone.json"), "utf8");

function problemsOf(text: string, file = "config.json"): readonly string[] {
  try {
    parseLayottoConfig(text, file, "/configs");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

/** A minimal MOSN file around one grpc_config, as Layotto's examples write it. */
function mosn(grpcConfig: unknown, listenerExtras: Record<string, unknown> = {}): string {
  return JSON.stringify({
    servers: [
      {
        listeners: [
          {
            name: "grpc",
            address: "127.0.0.1:34904",
            ...listenerExtras,
            filter_chains: [{ filters: [{ type: "grpc", config: { server_name: "runtime", grpc_config: grpcConfig } }] }],
          },
        ],
      },
    ],
  });
}

describe("Layotto config.json", () => {
  const config = parseLayottoConfig(fixture, "configs/config_standalone.json", "/etc/ottavo");

  it("reads the API address from the runtime grpc listener and the actuator from the listener named actuator", () => {
    expect(config.format).toBe("layotto");
    expect(config.api).toEqual({ kind: "tcp", host: "127.0.0.1", port: 34904 });
    expect(config.actuator).toEqual({ kind: "tcp", host: "127.0.0.1", port: 34999 });
    expect(config.configDir).toBe("/etc/ottavo");
  });

  it("reads app_id and the callback port, defaulting the callback host to 127.0.0.1", () => {
    expect(config.app).toEqual({ id: "app1", callback: { host: "127.0.0.1", port: 9999 } });
  });

  it("maps Layotto's grpc_config keys to capabilities, in file order", () => {
    expect(config.components.map((c) => `${c.capability}/${c.name}/${c.type}`)).toEqual([
      "hello/quick_start_demo/helloworld",
      "configuration/config_demo/in-memory",
      "state/state_demo/in-memory",
      "lock/lock_demo/in-memory",
      "pubsub/pub_subs_demo/in-memory",
      "sequencer/sequencer_demo/in-memory",
      "file/file_demo/local",
      "secret/secret_demo/local.file",
      "secret/secret_demo1/local.env",
      "binding/bindings_demo/http",
    ]);
  });

  it("keeps keys beside type and metadata as extras (folded or passed as settings later)", () => {
    const byName = (name: string) => config.components.find((c) => c.name === name)!;
    expect(byName("quick_start_demo").extras).toEqual({ hello: "greeting" });
    expect(byName("quick_start_demo").metadata).toEqual({});
    expect(byName("sequencer_demo").extras).toEqual({ biggerThan: { key1: 100 } });
    expect(byName("config_demo").extras).toEqual({ address: ["127.0.0.1:2379"], timeout: "10" });
    expect(byName("pub_subs_demo").metadata).toEqual({ consumerID: "1" });
  });

  it("warns about what it does not support yet, naming the key, instead of failing", () => {
    expect(config.warnings).toEqual([
      "configs/config_standalone.json: grpc_config key 'oss' is not supported yet; ignored",
      "configs/config_standalone.json: grpc_config key 'custom_component' is not supported yet; ignored",
      "configs/config_standalone.json: secret component 'secret_demo' (type 'local.file'): 'secret_ref' is not supported yet; ignored",
    ]);
  });

  it("reads Ottavo's tracing, logging and metrics beside Layotto's keys in grpc_config, without a warning", () => {
    const parsed = parseLayottoConfig(
      mosn({
        tracing: { enabled: true, endpoint: "http://collector:4318/v1/traces", serviceName: "orders" },
        logging: { level: "warning", accessLog: true },
        metrics: { enabled: false },
      }),
      "config.json",
      "/configs",
    );
    expect(parsed.tracing).toEqual({ endpoint: "http://collector:4318/v1/traces", serviceName: "orders", sampleRatio: 1, exportIntervalMs: 5000, headers: {} });
    expect(parsed.logging).toEqual({ level: "warn", format: "text", accessLog: true });
    expect(parsed.metrics).toEqual({ enabled: false });
    expect(parsed.warnings).toEqual([]);
    expect(problemsOf(mosn({ logging: { level: "loud" } }))).toEqual(["config.json: 'grpc_config.logging.level' must be one of error, warn, info, debug, trace"]);
  });

  it("is chosen for .json files", () => {
    expect(parseConfigText(fixture, "somewhere/config.json").format).toBe("layotto");
  });

  it("reads a MOSN unix listener (network unix, bare path) as a unix socket", () => {
    const uds = parseLayottoConfig(mosn({}, { address: "/tmp/client-proxy.sock", network: "unix" }), "c.json", "/");
    expect(uds.api).toEqual({ kind: "unix", path: "/tmp/client-proxy.sock" });
  });

  it("defaults the actuator to 127.0.0.1:34999 and the app id to empty when the file has neither", () => {
    const bare = parseLayottoConfig(mosn({ hellos: { h: { type: "helloworld" } } }), "c.json", "/");
    expect(bare.actuator).toEqual({ kind: "tcp", host: "127.0.0.1", port: 34999 });
    expect(bare.app).toEqual({ id: "" });
    expect(bare.warnings).toEqual([]);
  });

  it("treats grpc_callback_port 0 as no callback", () => {
    expect(parseLayottoConfig(mosn({ app: { app_id: "a", grpc_callback_port: 0 } }), "c.json", "/").app).toEqual({ id: "a" });
  });

  describe("errors", () => {
    it("a file that is not a MOSN config", () => {
      expect(problemsOf(`{"app": {"app_id": "x"}}`)).toEqual([
        "config.json: not a Layotto config: expected servers[0].listeners[] (a MOSN config file)",
      ]);
    });

    it("no runtime grpc listener", () => {
      const text = JSON.stringify({ servers: [{ listeners: [{ name: "actuator", address: "127.0.0.1:34999" }] }] });
      expect(problemsOf(text)).toEqual([
        'config.json: no listener in servers[0].listeners has a filter {"type": "grpc", "config": {"server_name": "runtime"}}',
      ]);
    });

    it("JSON syntax, with line and column (the rest of the text is V8's)", () => {
      expect(problemsOf('{\n  "servers": [\n    {,\n  ]\n}')).toEqual([
        "config.json:3:6: not valid JSON: Expected property name or '}'",
      ]);
      expect(problemsOf('{"servers": ')).toEqual(["config.json: not valid JSON: Unexpected end of JSON input"]);
    });

    it("a bad listener address", () => {
      expect(problemsOf(mosn({}, { address: "localhost" }))).toEqual([
        "config.json: servers[0].listeners[0]: address 'localhost' must be host:port (e.g. 127.0.0.1:34904) or unix:/path/to.sock",
      ]);
    });

    it("components without a type, with a non-string type or with non-map metadata, all at once", () => {
      const text = mosn({
        state: { in_memory: { metadata: {} }, typed: { type: 7 } },
        file: { file_demo: { type: "minio", metadata: [{ endpoint: "127.0.0.1:9000" }] } },
        lock: "lock_demo",
        app: { app_id: 5, grpc_callback_port: "9999" },
      });
      expect(problemsOf(text)).toEqual([
        "config.json: grpc_config.app.app_id must be a string",
        "config.json: grpc_config.app.grpc_callback_port must be a port number (1-65535)",
        "config.json: state component 'in_memory': missing 'type'",
        "config.json: state component 'typed': 'type' must be a string",
        "config.json: file component 'file_demo' (type 'minio'): 'metadata' must be a map of field names to values",
        "config.json: grpc_config.lock must be a map of component names to components",
      ]);
    });
  });
});
