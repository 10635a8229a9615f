/**
 * Config files as a user writes them, given to the built `ottavo run -c`: broken
 * ones stop the start with one exact line per problem on stderr (naming the file,
 * the component and the field) and exit code 1; the shipped configs start.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { runRuntimeExpectingFailure, startRuntime } from "@ottavo/test-support";
import { createDefaultRegistry } from "../../src/registry/adapter-registry";
import { actuator, postConnectJson } from "./support";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const configsDir = path.join(repoRoot, "configs");

/** Which backends a build ships grows over time (redis, ...); the sentence around the list does not. */
const knownStateTypes = createDefaultRegistry().types("state").join(", ");

const listeners = "api: { address: 127.0.0.1:0 }\nactuator: { address: 127.0.0.1:0 }\n";

/** Runs a config that must not start: exit code 1, nothing on stdout, exactly these lines on stderr. */
async function expectRefused(config: string, lines: (file: string) => string[]): Promise<void> {
  const failure = await runRuntimeExpectingFailure(config);
  expect({ code: failure.code, stdout: failure.stdout, stderr: failure.stderr }).toEqual({
    code: 1,
    stdout: "",
    stderr: lines(failure.configFile).map((line) => `${line}\n`).join(""),
  });
}

describe("a broken config stops the start with exit code 1 and says what to fix", () => {
  it("an unknown component type names the known ones", async () => {
    await expectRefused(`${listeners}components:\n  state:\n    orders: { type: in-memroy }\n`, (file) => [
      `${file}: state component 'orders' (type 'in-memroy'): unknown type; known state types: ${knownStateTypes}`,
    ]);
  });

  it("a missing required metadata field", async () => {
    await expectRefused(`${listeners}components:\n  secret:\n    vault: { type: local.file }\n`, (file) => [
      `${file}: secret component 'vault' (type 'local.file'): missing required metadata field 'secretsFile'`,
    ]);
  });

  it("a metadata field of the wrong type", async () => {
    await expectRefused(
      `${listeners}components:\n  binding:\n    http: { type: http, metadata: { url: "http://127.0.0.1:8080", maxResponseBytes: lots } }\n`,
      (file) => [`${file}: binding component 'http' (type 'http'): metadata field 'maxResponseBytes' must be an integer`],
    );
  });

  it("a section of the wrong type", async () => {
    await expectRefused("api: { address: 34904 }\n", (file) => [
      `${file}: 'api.address' must be a string such as 127.0.0.1:34904 or unix:/path/to.sock`,
    ]);
  });

  it("YAML that does not parse, with line and column", async () => {
    await expectRefused(`${listeners}components:\n\tstate: {}\n`, (file) => [
      `${file}:4:1: not valid YAML: Tabs are not allowed as indentation`,
    ]);
    await expectRefused(
      `${listeners}components:\n  state:\n    orders: { type: in-memory }\n    orders: { type: in-memory }\n`,
      (file) => [`${file}:6:5: not valid YAML: Map keys must be unique`],
    );
  });

  it("Layotto's config.json with an unknown component type", async () => {
    const config = JSON.stringify({
      servers: [
        {
          listeners: [
            {
              name: "grpc",
              address: "127.0.0.1:0",
              filter_chains: [
                {
                  filters: [
                    {
                      type: "grpc",
                      config: { server_name: "runtime", grpc_config: { state: { redis_demo: { type: "mongo", metadata: {} } } } },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    await expectRefused(config, (file) => [
      `${file}: state component 'redis_demo' (type 'mongo'): unknown type; known state types: ${knownStateTypes}`,
    ]);
  });

  it("a config file that does not exist", async () => {
    const missing = path.join(configsDir, "no-such-config.yaml");
    await expectRefused(missing, () => [`${missing}: cannot read the config file: no such file`]);
  });
});

describe("the shipped configs start (copied with port 0, their relative files beside them)", () => {
  const secrets = readFileSync(path.join(configsDir, "secrets.json"), "utf8");

  it.each([
    ["configs/default.yaml", /address: 127\.0\.0\.1:(34904|34999)/g, "address: 127.0.0.1:0"],
    ["configs/layotto-config.json", /"address": "127\.0\.0\.1:(34904|34999)"/g, '"address": "127.0.0.1:0"'],
  ])("%s", async (name, listenAddress, anyPort) => {
    const original = readFileSync(path.join(repoRoot, name), "utf8");
    const config = original.replace(listenAddress, anyPort);
    expect(config.match(/127\.0\.0\.1:0\b/g)).toHaveLength(2);

    // Same layout as in the repository: rootDir ../.ottavo/files stays inside the temp folder.
    const runtime = await startRuntime({ config, configName: name, files: { "configs/secrets.json": secrets } });
    expect(runtime.componentCount).toBe(10);
    expect(runtime.stderr()).toBe("");

    const readiness = await actuator(runtime.actuatorUrl, "/actuator/health/readiness");
    expect(readiness.status).toBe(200);
    expect(Object.keys((readiness.body as { components: object }).components).sort()).toEqual([
      "binding.http",
      "configuration.config_demo",
      "file.file_demo",
      "hello.quick_start_demo",
      "lock.lock_demo",
      "pubsub.pub_subs_demo",
      "runtime_startup",
      "secret.env",
      "secret.secret_demo",
      "sequencer.sequencer_demo",
      "state.state_demo",
    ]);

    // The names the README promises answer, and the secrets file beside the config is read.
    expect(JSON.parse((await postConnectJson(runtime.apiUrl, "SayHello", { serviceName: "quick_start_demo", name: "x" })).text)).toEqual(
      { hello: "greetings, x" },
    );
    const secret = await postConnectJson(runtime.apiUrl, "GetSecret", { storeName: "secret_demo", key: "api-key" });
    expect(JSON.parse(secret.text)).toEqual({ data: { "api-key": JSON.parse(secrets)["api-key"] } });
    expect(existsSync(path.join(path.dirname(runtime.configFile), "..", ".ottavo", "files"))).toBe(true);

    expect(await runtime.stop()).toBe(0);
    expect(runtime.stdout()).toMatch(/\nottavo: SIGTERM received; finishing in-flight calls \(up to 10000 ms\)\nottavo: stopped\n$/);
  });
});
