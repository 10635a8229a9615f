/**
 * Issue 4, item 5: two runtime processes of one app on one Redis, as two
 * replicas run. Clients of both contend for one lock and draw ids from both;
 * what the Redis adapters promise must hold across the processes.
 */
import type { RuntimeClient } from "@ottavo/generated/client/runtime-client";
import { SequencerOptions_AutoIncrement, UnlockResponse_Status } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { Redis } from "ioredis";
import { performance } from "node:perf_hooks";
import { defaultSegmentSize } from "../../src/handlers/segment-cache";
import { decode, encode, grpcClient, redisConfig } from "./support";

const appId = "cross";
/** Clients per runtime, each a loop of sequential calls. */
const clientsPerRuntime = 10;

let redis: RedisServer;
let raw: Redis;
let runtimes: RunningRuntime[] = [];
/** clients[r][c]: client c of runtime r, each on its own HTTP/2 connection. */
let clients: RuntimeClient[][] = [];

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  await raw.connect();
  const config = redisConfig(redis, { appId, capabilities: ["state", "lock", "sequencer"] });
  runtimes = await Promise.all([startRuntime({ config }), startRuntime({ config })]);
  clients = runtimes.map((runtime) => Array.from({ length: clientsPerRuntime }, () => grpcClient(runtime)));
}, 30_000);

afterAll(async () => {
  raw?.disconnect();
  try {
    const codes = await Promise.all(runtimes.map((runtime) => runtime.stop()));
    expect(codes).toEqual(runtimes.map(() => 0));
  } finally {
    await redis?.stop();
  }
});

/** Runs fn for every client of both runtimes at once. */
function everyClient<T>(fn: (client: RuntimeClient, runtime: number, index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(clients.flatMap((perRuntime, r) => perRuntime.map((client, c) => fn(client, r, c))));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("two runtimes on one Redis", () => {
  it("share state: what one writes, the other reads, with the same etags", async () => {
    const [a, b] = [clients[0][0], clients[1][0]];
    await a.saveState({ storeName: "state_redis", states: [{ key: "shared", value: encode("from a") }] });
    const read = await b.getState({ storeName: "state_redis", key: "shared" });
    expect([decode(read.data), read.etag]).toEqual(["from a", "1"]);
    await b.saveState({ storeName: "state_redis", states: [{ key: "shared", value: encode("from b"), etag: { value: "1" } }] });
    expect((await a.getState({ storeName: "state_redis", key: "shared" })).etag).toBe("2");
  });

  it("never let two clients hold one lock at once, and every acquisition is released", async () => {
    const resourceId = "one-lock";
    const deadline = Date.now() + 5_000;
    const maxAcquisitions = 150;
    let holders = 0;
    let overlaps = 0;
    let acquisitions = 0;
    let refusals = 0;
    const acquiredThrough = [0, 0];
    const badUnlocks: string[] = [];

    await everyClient(async (client, r, c) => {
      const lockOwner = `runtime${r}-client${c}`;
      while (Date.now() < deadline && acquisitions < maxAcquisitions) {
        const { success } = await client.tryLock({ storeName: "lock_redis", resourceId, lockOwner, expire: 30 });
        if (!success) {
          refusals++;
          await pause(1 + Math.random() * 3);
          continue;
        }
        acquisitions++;
        acquiredThrough[r]++;
        // The critical section: nobody else may be in it until we unlock.
        holders++;
        if (holders !== 1) overlaps++;
        await pause(2);
        if (holders !== 1) overlaps++;
        holders--;
        const { status } = await client.unlock({ storeName: "lock_redis", resourceId, lockOwner });
        if (status !== UnlockResponse_Status.SUCCESS) badUnlocks.push(`${lockOwner}: ${UnlockResponse_Status[status]}`);
      }
    });

    expect(overlaps).toBe(0);
    expect(badUnlocks).toEqual([]);
    // Real contention, through both processes.
    expect(acquisitions).toBeGreaterThanOrEqual(20);
    expect(refusals).toBeGreaterThan(0);
    expect(acquiredThrough.every((n) => n > 0)).toBe(true);
    // Released for good: no key left behind, and a newcomer gets the lock through either runtime.
    expect(await raw.exists(`lock|||${appId}||${resourceId}`)).toBe(0);
    for (const perRuntime of clients) {
      const client = perRuntime[0];
      expect((await client.tryLock({ storeName: "lock_redis", resourceId, lockOwner: "newcomer", expire: 5 })).success).toBe(true);
      expect((await client.unlock({ storeName: "lock_redis", resourceId, lockOwner: "newcomer" })).status).toBe(
        UnlockResponse_Status.SUCCESS,
      );
    }
  }, 20_000);

  it("hand out unique STRONG ids, each greater than every id handed out before it was asked for", async () => {
    const perClient = 25;
    const draws = await everyClient(async (client, runtime) => {
      const mine: { runtime: number; id: bigint; start: number; end: number }[] = [];
      for (let i = 0; i < perClient; i++) {
        const start = performance.now();
        const { nextId } = await client.getNextId({
          storeName: "sequencer_redis",
          key: "strong",
          options: { increment: SequencerOptions_AutoIncrement.STRONG },
        });
        mine.push({ runtime, id: BigInt(nextId), start, end: performance.now() });
      }
      return mine;
    });

    for (const mine of draws) expect(isStrictlyIncreasing(mine.map((d) => d.id))).toBe(true);
    const all = draws.flat();
    const total = 2 * clientsPerRuntime * perClient;
    // INCR on a fresh key: exactly 1..total, none twice, no gaps.
    expect(all.map((d) => d.id).sort(compareBigInt)).toEqual(Array.from({ length: total }, (_, i) => BigInt(i + 1)));
    // Real-time order across both processes (so each runtime's own sequence increases too):
    // an id asked for after another was answered is greater.
    const violations = all.filter((later) => all.some((earlier) => earlier.end < later.start && earlier.id >= later.id));
    expect(violations).toEqual([]);
    expect(new Set(all.map((d) => d.runtime))).toEqual(new Set([0, 1]));
  }, 20_000);

  it("hand out unique WEAK ids across both, from disjoint segments reserved in Redis", async () => {
    const perClient = 50;
    const key = "weak";
    const draws = await everyClient(async (client, runtime) => {
      const ids: bigint[] = [];
      for (let i = 0; i < perClient; i++) {
        const { nextId } = await client.getNextId({ storeName: "sequencer_redis", key });
        ids.push(BigInt(nextId));
      }
      return { runtime, ids };
    });

    const all = draws.flatMap((d) => d.ids);
    expect(new Set(all).size).toBe(all.length);
    for (const { ids } of draws) expect(isStrictlyIncreasing(ids)).toBe(true);
    // Each runtime served from one segment of its own (it needed far fewer ids than a segment
    // holds), reserved with INCRBY on the shared key: the two blocks do not overlap.
    const size = BigInt(defaultSegmentSize);
    const blocks = [0, 1].map((runtime) => {
      const ids = draws.filter((d) => d.runtime === runtime).flatMap((d) => d.ids);
      const first = ((minOf(ids) - 1n) / size) * size + 1n;
      expect(maxOf(ids)).toBeLessThan(first + size);
      return first;
    });
    expect(blocks.sort(compareBigInt)).toEqual([1n, 1n + size]);
    const storedKey = `sequencer|||${appId}||${key}`;
    expect(await raw.get(storedKey)).toBe(String(2n * size));

    // STRONG on the same key goes past every reserved segment, through either runtime.
    const strong = await Promise.all(
      clients.map(async (perRuntime) =>
        BigInt(
          (
            await perRuntime[0].getNextId({
              storeName: "sequencer_redis",
              key,
              options: { increment: SequencerOptions_AutoIncrement.STRONG },
            })
          ).nextId,
        ),
      ),
    );
    expect(strong.sort(compareBigInt)).toEqual([2n * size + 1n, 2n * size + 2n]);
  }, 20_000);
});

function isStrictlyIncreasing(ids: readonly bigint[]): boolean {
  return ids.every((id, i) => i === 0 || id > ids[i - 1]);
}

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const minOf = (ids: readonly bigint[]) => ids.reduce((m, id) => (id < m ? id : m));
const maxOf = (ids: readonly bigint[]) => ids.reduce((m, id) => (id > m ? id : m));
