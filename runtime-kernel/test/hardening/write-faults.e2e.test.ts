/**
 * Fault tests under write load (issue 11, deliverable 7): Redis paused and
 * resumed (SIGSTOP/SIGCONT), Redis killed with SIGKILL and restarted on its
 * append-only file, and the runtime killed with SIGKILL mid-load and started
 * again on the same Redis. Every acknowledged write must read back; a
 * write answered UNAVAILABLE may or may not have happened (the README says so),
 * and the test counts how many did.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { grpcClient, redisConfig, redisPid } from "../redis/support";

jest.setTimeout(60_000);

let redis: RedisServer;
let paused: number | undefined;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  if (paused !== undefined) process.kill(paused, "SIGCONT");
  await redis?.stop();
});

const config = () => redisConfig(redis, { capabilities: ["state"], metadata: { readTimeout: "500ms", dialTimeout: "500ms", redisMaxRetryInterval: "100ms" } });
const encode = (text: string) => new TextEncoder().encode(text);

/** Writers saving distinct keys until stopped; what each write answered. */
interface Load {
  acknowledged: string[];
  unavailable: string[];
  other: string[];
  stop(): Promise<void>;
}

function writeLoad(runtime: RunningRuntime, prefix: string, writers = 8): Load {
  const client = grpcClient(runtime);
  const load: Load = { acknowledged: [], unavailable: [], other: [], stop: async () => undefined };
  let running = true;
  let next = 0;
  const writer = async () => {
    while (running) {
      const key = `${prefix}-${next++}`;
      try {
        await client.saveState({ storeName: "state_redis", states: [{ key, value: encode(key) }] }, { timeoutMs: 5_000 });
        load.acknowledged.push(key);
      } catch (error) {
        const code = error instanceof ConnectError ? error.code : undefined;
        (code === Code.Unavailable || code === Code.DeadlineExceeded ? load.unavailable : load.other).push(key);
        if (code === undefined) return; // the runtime is gone: this writer stops
      }
    }
  };
  const done = Promise.all(Array.from({ length: writers }, writer));
  load.stop = async () => {
    running = false;
    await done;
  };
  return load;
}

/** How many of the keys read back with their value, through a runtime. */
async function present(runtime: RunningRuntime, keys: readonly string[]): Promise<number> {
  const client = grpcClient(runtime);
  let found = 0;
  for (let i = 0; i < keys.length; i += 500) {
    const batch = keys.slice(i, i + 500);
    const { items } = await client.getBulkState({ storeName: "state_redis", keys: batch });
    for (const item of items) if (new TextDecoder().decode(item.data) === item.key) found++;
  }
  return found;
}

/** Resolves once the load has acknowledged `count` more writes. */
async function acknowledgedMore(load: Load, count: number): Promise<void> {
  const target = load.acknowledged.length + count;
  while (load.acknowledged.length < target) await new Promise((resolve) => setImmediate(resolve));
}

it("loses no acknowledged write while Redis is paused and resumed", async () => {
  const runtime = await startRuntime({ config: config() });
  const load = writeLoad(runtime, "pause");
  await acknowledgedMore(load, 300);
  paused = await redisPid(redis);
  process.kill(paused, "SIGSTOP");
  const unavailableBefore = load.unavailable.length;
  // The sentinel: writes fail with UNAVAILABLE while Redis does not answer.
  while (load.unavailable.length < unavailableBefore + 8) await new Promise((resolve) => setTimeout(resolve, 20));
  process.kill(paused, "SIGCONT");
  paused = undefined;
  await acknowledgedMore(load, 300);
  await load.stop();
  expect(load.other).toEqual([]);
  expect(await present(runtime, load.acknowledged)).toBe(load.acknowledged.length);
  const happened = await present(runtime, load.unavailable);
  process.stdout.write(`pause/resume: ${load.acknowledged.length} acknowledged, all read back; ${load.unavailable.length} UNAVAILABLE, of which ${happened} happened anyway\n`);
  expect(await runtime.stop()).toBe(0);
});

it("loses no acknowledged write when Redis (appendonly, appendfsync always) is killed with SIGKILL mid-load and restarted", async () => {
  // Redis keeps what it acknowledged across kill -9 only with persistence on; this one has it.
  const durable = await startRedis({ appendOnly: true });
  try {
    const runtime = await startRuntime({
      config: redisConfig(durable, { capabilities: ["state"], metadata: { readTimeout: "500ms", dialTimeout: "500ms", redisMaxRetryInterval: "100ms" } }),
    });
    const load = writeLoad(runtime, "redis-kill");
    await acknowledgedMore(load, 500);
    await durable.crash();
    const unavailableBefore = load.unavailable.length;
    // The sentinel: writes fail with UNAVAILABLE while Redis is gone.
    while (load.unavailable.length < unavailableBefore + 8) await new Promise((resolve) => setTimeout(resolve, 20));
    await durable.restart(); // same port, same folder: Redis replays its append-only file
    await acknowledgedMore(load, 500);
    await load.stop();
    expect(load.other).toEqual([]);
    expect(await present(runtime, load.acknowledged)).toBe(load.acknowledged.length);
    const happened = await present(runtime, load.unavailable);
    process.stdout.write(
      `redis kill -9: ${load.acknowledged.length} acknowledged, all read back; ${load.unavailable.length} UNAVAILABLE, of which ${happened} happened anyway\n`,
    );
    expect(await runtime.stop()).toBe(0);
  } finally {
    await durable.stop();
  }
});

it("loses no acknowledged write when the runtime is killed with SIGKILL mid-load", async () => {
  const first = await startRuntime({ config: config() });
  const load = writeLoad(first, "kill");
  await acknowledgedMore(load, 500);
  await first.stop("SIGKILL");
  await load.stop();
  const second = await startRuntime({ config: config() });
  expect(await present(second, load.acknowledged)).toBe(load.acknowledged.length);
  const unknown = [...load.unavailable, ...load.other];
  const happened = await present(second, unknown);
  process.stdout.write(`runtime kill -9: ${load.acknowledged.length} acknowledged, all read back; ${unknown.length} unanswered, of which ${happened} happened anyway\n`);
  expect(await second.stop()).toBe(0);
});
