/**
 * Issue 4, item 3: a Redis password is sensitive metadata. It never appears in
 * what the runtime writes (stdout, stderr), in the errors calls answer, in the
 * actuator's bodies, or in config errors; whether the password is right, wrong
 * or the config around it is broken.
 */
import { Code } from "@connectrpc/connect";
import { runRuntimeExpectingFailure, startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { actuatorGet, decode, encode, eventually, failedCall, grpcClient, redisConfig } from "./support";

const password = "Pa55-ottavo-7f3a9c";
const wrongPassword = "Wr0ng-ottavo-51d2e8";

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis({ password });
}, 20_000);

afterAll(async () => {
  await redis?.stop();
});

/** Nothing the test saw may hold either password. */
function expectNoSecret(...texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(password);
    expect(text).not.toContain(wrongPassword);
  }
}

describe("a Redis password", () => {
  let runtime: RunningRuntime | undefined;
  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
  });

  it("stays out of output, call errors and the actuator while serving, failing and recovering", async () => {
    runtime = await startRuntime({
      config: redisConfig(redis, {
        capabilities: ["state", "lock"],
        metadata: { redisPassword: password, readTimeout: "1s", dialTimeout: "1s", redisMaxRetryInterval: "200ms" },
      }),
    });
    const client = grpcClient(runtime);
    await client.saveState({ storeName: "state_redis", states: [{ key: "k", value: encode("v") }] });
    expect(decode((await client.getState({ storeName: "state_redis", key: "k" })).data)).toBe("v");

    const bodies: string[] = [];
    const probe = async () => {
      for (const path of ["/actuator/health/readiness", "/actuator/health/liveness", "/actuator/info"]) {
        bodies.push((await actuatorGet(runtime!, path)).text);
      }
    };
    await probe();

    await redis.stop();
    try {
      const errors = await Promise.all([
        failedCall(() => client.getState({ storeName: "state_redis", key: "k" })),
        failedCall(() => client.saveState({ storeName: "state_redis", states: [{ key: "k", value: encode(password) }] })),
        failedCall(() => client.tryLock({ storeName: "lock_redis", resourceId: "r", lockOwner: "o", expire: 5 })),
      ]);
      for (const { error } of errors) {
        expect(Code[error.code]).toBe(Code[Code.Unavailable]);
        expect(error.rawMessage).toContain(`${redis.host}:${redis.port}`);
        expectNoSecret(error.message, JSON.stringify([...error.metadata]), JSON.stringify(error.details));
      }
      await eventually(async () => expect((await actuatorGet(runtime!, "/actuator/health/readiness")).status).toBe(503));
      await probe();
    } finally {
      await redis.restart();
    }

    // Back, authenticated again with the password it holds, not one printed anywhere.
    await eventually(() => client.getState({ storeName: "state_redis", key: "k" }));
    await eventually(async () => expect((await actuatorGet(runtime!, "/actuator/health/readiness")).status).toBe(200));
    await probe();
    expect(await runtime.stop()).toBe(0);

    expect(bodies.length).toBe(9);
    expectNoSecret(runtime.stdout(), runtime.stderr(), ...bodies);
  }, 30_000);

  it("stays out of the start-up error when it is wrong, which names host:port", async () => {
    const failure = await runRuntimeExpectingFailure(
      redisConfig(redis, { capabilities: ["state"], metadata: { redisPassword: wrongPassword, dialTimeout: "1s" } }),
    );
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain(
      `state component 'state_redis' (type 'redis'): redis at ${redis.host}:${redis.port} failed: WRONGPASS`,
    );
    expectNoSecret(failure.stdout, failure.stderr);
  });

  it("stays out of the start-up error when it is missing", async () => {
    const failure = await runRuntimeExpectingFailure(redisConfig(redis, { capabilities: ["state"] }));
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain(`redis at ${redis.host}:${redis.port} failed: NOAUTH`);
    expectNoSecret(failure.stdout, failure.stderr);
  });

  it("stays out of config errors about the component's other fields, its own type, or its aliases", async () => {
    const host = `${redis.host}:${redis.port}`;
    const config = `app: { id: secrets }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    bad_fields: { type: redis, metadata: { redisHost: "${host}", redisPassword: "${password}", readTimeout: soon, redisDB: first } }
  lock:
    password_not_a_string: { type: redis, metadata: { redisHost: "${host}", password: ["${password}"] } }
  sequencer:
    password_twice: { type: redis, metadata: { redisHost: "${host}", password: "${password}", redisPassword: "${wrongPassword}" } }
`;
    const failure = await runRuntimeExpectingFailure(config);
    expect(failure.code).toBe(1);
    // Each problem is named, by component and field.
    for (const expected of [
      /state component 'bad_fields' .*'readTimeout' must be a duration/,
      /state component 'bad_fields' .*'redisDB' must be an integer/,
      /lock component 'password_not_a_string' .*'password' must be a string/,
      /sequencer component 'password_twice' .*'redisPassword' is given more than once \(as 'redisPassword' and 'password'\)/,
    ]) {
      expect(failure.stderr).toMatch(expected);
    }
    expectNoSecret(failure.stdout, failure.stderr);
  });

  it("stays out of the error when it is written into redisHost, as a URL or user:password@host", async () => {
    const host = `${redis.host}:${redis.port}`;
    const config = `app: { id: secrets }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  state:
    as_url: { type: redis, metadata: { redisHost: "redis://:${password}@${host}" } }
  lock:
    as_userinfo: { type: redis, metadata: { redisHost: "default:${password}@${host}" } }
`;
    const failure = await runRuntimeExpectingFailure(config);
    expect(failure.code).toBe(1);
    for (const name of ["as_url", "as_userinfo"]) {
      expect(failure.stderr).toContain(`component '${name}' (type 'redis'): metadata field 'redisHost' must be host:port, not a URL`);
    }
    expectNoSecret(failure.stdout, failure.stderr);
  });
});
