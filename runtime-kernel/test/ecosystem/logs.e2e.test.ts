/**
 * Structured logs: at the most verbose level (-l trace), with JSON records, the
 * access log and tracing on, every line is a JSON object with time, level and
 * msg, every call through the pipeline has its access line, and no secret shows
 * anywhere in what the runtime writes: not the values GetSecret and
 * GetBulkSecret answer (from a file and from the environment), not the API
 * token (right or wrong), not a Redis component's password (metadata the
 * adapter declares sensitive), not the tracing exporter's API key, not a value
 * the app stores. Each is a sentinel that the test first shows the runtime
 * really handled. Levels come from the config and from -l/--log-level, which wins.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { eventually, startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { layottoStub, rejection, type Message, type RuntimeStub } from "../e2e/layotto-stub";
import { startOtlpReceiver, type OtlpReceiver } from "./otlp-receiver";

const sentinel = (what: string) => `${what}-${randomBytes(12).toString("hex")}`;
const fileSecret = sentinel("file-secret");
const nestedSecret = sentinel("nested-secret");
const envSecret = sentinel("env-secret");
const apiToken = sentinel("api-token");
const wrongToken = sentinel("wrong-token");
const redisPassword = sentinel("redis-password");
const exporterKey = sentinel("exporter-key");
const storedValue = sentinel("stored-value");
const secrets = [fileSecret, nestedSecret, envSecret, apiToken, wrongToken, redisPassword, exporterKey, storedValue];

function call(stub: RuntimeStub, rpc: string, request: Message, token: string): Promise<Message> {
  const metadata = new grpc.Metadata();
  metadata.set("dapr-api-token", token);
  const method = stub[rpc] as (request: Message, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response: Message) => void) => void;
  return new Promise((resolve, reject) => method.call(stub, request, metadata, (error, response) => (error ? reject(error) : resolve(response))));
}

interface LogRecord {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** Every line the runtime wrote, each parsed as JSON (a line that is not JSON fails the test). */
function records(runtime: RunningRuntime): LogRecord[] {
  return `${runtime.stdout()}${runtime.stderr()}`
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const record = JSON.parse(line) as LogRecord;
      expect(Object.keys(record).slice(0, 3)).toEqual(["time", "level", "msg"]);
      return record;
    });
}

let redis: RedisServer;
let receiver: OtlpReceiver;

beforeAll(async () => {
  redis = await startRedis({ password: redisPassword });
  receiver = await startOtlpReceiver();
}, 30_000);

afterAll(async () => {
  await redis?.stop();
  await receiver?.close();
});

function config(logging: string): string {
  return `
app: { id: logged-app }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
logging: ${logging}
tracing: { enabled: true, endpoint: "${receiver.endpoint}", exportInterval: 50ms, headers: { x-api-key: "${exporterKey}" } }
components:
  state:
    redis_store: { type: redis, metadata: { redisHost: "127.0.0.1:${redis.port}", redisPassword: "${redisPassword}" } }
  secret:
    file_store: { type: local.file, metadata: { secretsFile: secrets.json } }
    env_store: { type: local.env, metadata: { prefix: LOGTEST_SECRET_ } }
`;
}

describe("at -l trace, JSON, with the access log and tracing on", () => {
  let runtime: RunningRuntime;
  let stub: RuntimeStub;

  beforeAll(async () => {
    runtime = await startRuntime({
      config: config("{ level: info, format: json, accessLog: true }"),
      args: ["-l", "trace"],
      files: { "secrets.json": JSON.stringify({ "db-password": fileSecret, nested: { password: nestedSecret } }) },
      env: { OTTAVO_API_TOKEN: apiToken, LOGTEST_SECRET_TOKEN: envSecret },
    });
    stub = layottoStub(runtime.apiPort);
  }, 30_000);

  afterAll(() => stub?.close());

  it("handles every secret (the sentinels are real), writes only JSON records, and never writes a secret", async () => {
    expect(await call(stub, "GetSecret", { store_name: "file_store", key: "db-password" }, apiToken)).toEqual({ data: { "db-password": fileSecret } });
    const bulk = await call(stub, "GetBulkSecret", { store_name: "file_store" }, apiToken);
    expect(JSON.stringify(bulk)).toContain(nestedSecret);
    expect(await call(stub, "GetSecret", { store_name: "env_store", key: "TOKEN" }, apiToken)).toEqual({ data: { TOKEN: envSecret } });
    await call(stub, "SaveState", { store_name: "redis_store", states: [{ key: "k", value: Buffer.from(storedValue) }] }, apiToken);
    const got = await call(stub, "GetState", { store_name: "redis_store", key: "k" }, apiToken);
    expect(Buffer.from(got.data as Buffer).toString()).toBe(storedValue);
    expect((await rejection(call(stub, "GetSecret", { store_name: "file_store", key: "db-password" }, wrongToken))).code).toBe(grpc.status.UNAUTHENTICATED);
    // The exporter sent spans with its key: the key was in use.
    await eventually(() => expect(receiver.spans.some((span) => span.name.endsWith("/GetBulkSecret"))).toBe(true));
    expect(await runtime.stop()).toBe(0);

    const logged = records(runtime);
    const text = `${runtime.stdout()}${runtime.stderr()}`;
    for (const secret of secrets) expect([secret, text.includes(secret)]).toEqual([secret, false]);

    // Verbose it was: debug lines, with the Redis component's host shown and its password redacted.
    const component = logged.find((r) => r.level === "debug" && r.msg.startsWith("state component 'redis_store'"));
    expect(component?.msg).toContain(`"redisHost":"127.0.0.1:${redis.port}"`);
    expect(component?.msg).toContain(`"redisPassword":"<redacted>"`);
    // One access record per call, with its rpc, protocol, status, duration and trace id.
    const access = logged.filter((r) => r.kind === "access");
    expect(access.map((r) => `${String(r.rpc).split("/")[1]} ${r.code}`)).toEqual([
      "GetSecret OK",
      "GetBulkSecret OK",
      "GetSecret OK",
      "SaveState OK",
      "GetState OK",
      "GetSecret UNAUTHENTICATED",
    ]);
    for (const record of access) {
      expect(record).toMatchObject({ level: "info", protocol: "grpc" });
      expect(typeof record.durationMs).toBe("number");
      expect(record.traceId).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});

describe("access lines while the runtime runs", () => {
  it("a call's JSON access line is written without further calls or a stop (access lines wait at most a moment for others)", async () => {
    const runtime = await startRuntime({ config: config("{ format: json, accessLog: true }"), files: { "secrets.json": "{}" } });
    try {
      const stub = layottoStub(runtime.apiPort);
      await call(stub, "GetSecret", { store_name: "file_store", key: "none" }, "").catch(() => undefined);
      stub.close();
      await eventually(() => expect(records(runtime).filter((r) => r.kind === "access").map((r) => r.rpc)).toEqual(["spec.proto.runtime.v1.Runtime/GetSecret"]));
    } finally {
      expect(await runtime.stop()).toBe(0);
    }
  });

  it("so is a call's text access line", async () => {
    const runtime = await startRuntime({ config: config("{ accessLog: true }"), files: { "secrets.json": "{}" } });
    try {
      const stub = layottoStub(runtime.apiPort);
      await call(stub, "GetSecret", { store_name: "file_store", key: "none" }, "").catch(() => undefined);
      stub.close();
      await eventually(() => expect(runtime.stdout()).toMatch(/^ottavo: access spec\.proto\.runtime\.v1\.Runtime\/GetSecret grpc \w+ [\d.]+ ms( trace [0-9a-f]{32})?$/m));
    } finally {
      expect(await runtime.stop()).toBe(0);
    }
  });
});

/** A runtime with JSON access lines and a secret store to call: what the log reader's tests drive. */
function accessLoggedRuntime(): Promise<RunningRuntime> {
  return startRuntime({
    config: `
app: { id: logged-app }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
logging: { format: json, accessLog: true }
components:
  secret:
    file_store: { type: local.file, metadata: { secretsFile: secrets.json } }
`,
    files: { "secrets.json": "{}" },
  });
}

/** `calls` GetSecret calls for a key the store does not have, `concurrency` at a time; resolves with how many were answered (found or not). */
async function getSecrets(stub: RuntimeStub, calls: number, concurrency: number): Promise<number> {
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      await call(stub, "GetSecret", { store_name: "file_store", key: "none" }, "").then(
        () => answered++,
        (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND && answered++,
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answered;
}

/** ottavo_log_lines_dropped_total as the runtime's /metrics shows it. */
async function droppedLogLines(actuatorUrl: string): Promise<number> {
  const { stdout: metrics } = await promisify(execFile)("curl", ["-s", `${actuatorUrl}/metrics`]);
  return Number(/^ottavo_log_lines_dropped_total (\d+)$/m.exec(metrics)?.[1]);
}

describe("a log reader that stops reading", () => {
  it("costs bounded memory: access lines 4 MB behind are dropped and counted (ottavo_log_lines_dropped_total), the others written once it reads again", async () => {
    const runtime = await accessLoggedRuntime();
    try {
      // The reader stalls: this process stops taking the runtime's stdout, whose pipe then fills.
      runtime.process.stdout.pause();
      const stub = layottoStub(runtime.apiPort);
      const calls = 32_000;
      await getSecrets(stub, calls, 32);
      stub.close();
      const dropped = await droppedLogLines(runtime.actuatorUrl);
      // About 175 bytes a line: 32,000 lines are 5.6 MB, more than the 4 MB the runtime keeps for a stalled reader.
      expect(dropped).toBeGreaterThan(0);
      expect(dropped).toBeLessThan(calls);
      runtime.process.stdout.resume();
      // Every call has its line or is counted as dropped: none lost otherwise, and the reader gets the rest.
      const accessLines = () => runtime.stdout().split("\n").filter((line) => line.includes('"kind":"access"')).length;
      await eventually(() => expect(accessLines()).toBe(calls - dropped), 20_000, 200);
      // Lines are written again once the reader caught up.
      const after = layottoStub(runtime.apiPort);
      await call(after, "GetSecret", { store_name: "file_store", key: "none" }, "").catch(() => undefined);
      after.close();
      await eventually(() => expect(accessLines()).toBe(calls - dropped + 1));
    } finally {
      expect(await runtime.stop()).toBe(0);
    }
  }, 180_000);
});

describe("a log reader that goes away", () => {
  it("is said once on stderr; stdout's lines are dropped and counted from then on, with no internal error, and calls are served as before", async () => {
    const runtime = await accessLoggedRuntime();
    try {
      // The reader goes away: this process closes its end of the runtime's stdout, whose writes then fail with EPIPE.
      runtime.process.stdout.destroy();
      const stub = layottoStub(runtime.apiPort);
      const calls = 2_000;
      expect(await getSecrets(stub, calls, 16)).toBe(calls);
      stub.close();
      const dropped = await droppedLogLines(runtime.actuatorUrl);
      expect(dropped).toBeGreaterThanOrEqual(calls);
      const warnings = runtime.stderr().split("\n").filter((line) => line.includes("standard output cannot be written"));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0])).toMatchObject({ level: "warn", msg: expect.stringContaining("(EPIPE)") });
      expect(runtime.stderr()).not.toContain("internal error");
    } finally {
      expect(await runtime.stop()).toBe(0);
    }
  }, 60_000);
});

describe("levels", () => {
  it("takes the config's level, and -l/--log-level over it; text lines by default, no access log unless asked", async () => {
    const files = { "secrets.json": "{}" };
    const fromConfig = await startRuntime({ config: config("{ level: debug }"), files });
    expect(await fromConfig.stop()).toBe(0);
    expect(fromConfig.stdout()).toMatch(/^ottavo: debug: state component 'redis_store' \(type 'redis'\), metadata \{.*"redisPassword":"<redacted>"/m);
    expect(fromConfig.stdout()).toMatch(/^ottavo: serving the API on /m);

    const overridden = await startRuntime({ config: config("{ level: debug, accessLog: false }"), files, args: ["--log-level", "info"] });
    const stub = layottoStub(overridden.apiPort);
    await call(stub, "GetSecret", { store_name: "file_store", key: "none" }, "").catch(() => undefined);
    stub.close();
    expect(await overridden.stop()).toBe(0);
    expect(overridden.stdout()).toMatch(/^ottavo: serving the API on /m);
    // The sentinels: the debug line the config asked for, and any access line, are absent.
    expect(overridden.stdout()).not.toContain("debug:");
    expect(overridden.stdout()).not.toContain("access");
  });
});
