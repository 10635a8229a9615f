/**
 * etcd stopped and restarted under load on lock, sequencer and configuration,
 * through one runtime and the published layotto SDK: etcd killed with SIGKILL and
 * restarted on the same data dir and port, then frozen with SIGSTOP and let go
 * with SIGCONT. While it is gone, calls fail with UNAVAILABLE (killed) or
 * DEADLINE_EXCEEDED (frozen, after requestTimeout) naming the component, and
 * readiness is DOWN; once it is back every kind of call succeeds again and
 * readiness is UP; the runtime never exits. Across the run:
 * no sequencer id is handed out twice, no two owners ever certainly held the lock
 * at once, and the configuration subscriber heard every acknowledged save once, in
 * the order saved.
 */
import { Client } from "layotto";
import { eventually, startEtcd, startRuntime, type EtcdServer, type RunningRuntime, layottoConfigJson } from "@ottavo/test-support";

jest.setTimeout(120_000);

let etcd: EtcdServer;
let runtime: RunningRuntime;
let client: Client;

/** Seconds a lock is taken for. */
const EXPIRE = 3;

function layottoConfig(endpoint: string): string {
  const metadata = { endpoints: endpoint, keyPrefixPath: "/faults/", dialTimeout: "1", requestTimeout: "1s" };
  const component = { type: "etcd", metadata };
  const grpcConfig = {
    app: { app_id: "etcd-faults" },
    lock: { lock_etcd: component },
    sequencer: { sequencer_etcd: component },
    config_store: { config_etcd: component },
  };
  return layottoConfigJson(grpcConfig);
}

beforeAll(async () => {
  etcd = await startEtcd();
  runtime = await startRuntime({ config: layottoConfig(etcd.endpoint) });
  client = new Client(String(runtime.apiPort), "127.0.0.1");
}, 60_000);

afterAll(async () => {
  etcd?.resume();
  client?.close();
  if (runtime !== undefined) expect(await runtime.stop()).toBe(0);
  await etcd?.remove();
});

interface Failure {
  readonly code: number;
  readonly message: string;
}

/** What one kind of call answered so far. */
class Tally {
  successes = 0;
  readonly failures: Failure[] = [];

  async run<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await call();
      this.successes++;
      return result;
    } catch (error) {
      const { code, details, message } = error as { code?: number; details?: string; message?: string };
      this.failures.push({ code: code ?? -1, message: details || message || String(error) });
      return undefined;
    }
  }
}

const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

/** The time a lock was certainly held: from tryLock's answer to the unlock request, at most the lease from the request. */
interface Holding {
  readonly owner: string;
  readonly from: number;
  readonly to: number;
}

async function startLoad() {
  let running = true;
  const tallies = { lock: new Tally(), sequencer: new Tally(), save: new Tally() };
  const ids: bigint[][] = [[], []];
  const holdings: Holding[] = [];
  const saved: number[] = [];
  const heard: number[] = [];
  let subscriptionClosed: unknown = "open";

  const call = client.configuration.subscribe({
    storeName: "config_etcd",
    appId: "etcd-faults",
    keys: ["counter"],
    onData(items: { key: string; content: string }[]) {
      for (const item of items) heard.push(Number(item.content));
    },
    onClose(err?: Error) {
      subscriptionClosed = err ?? "closed";
    },
  });

  // The subscription is in place once a save is heard: probe with negative values until one is.
  let probe = 0;
  await eventually(async () => {
    await client.configuration.save({ storeName: "config_etcd", appId: "etcd-faults", items: [{ key: "counter", content: String(--probe) }] });
    return heard.length > 0;
  });

  const sequencer = async (worker: number) => {
    while (running) {
      const id = await tallies.sequencer.run(() => client.sequencer.getNextId({ storeName: "sequencer_etcd", key: "orders", options: { increment: 1 } }));
      if (id !== undefined) ids[worker]!.push(BigInt(id));
    }
  };
  const locker = async (worker: number) => {
    const owner = `owner-${worker}`;
    while (running) {
      const sent = Date.now();
      const taken = await tallies.lock.run(() => client.lock.tryLock({ storeName: "lock_etcd", resourceId: "shared", lockOwner: owner, expire: EXPIRE }));
      if (taken !== true) continue;
      const from = Date.now();
      await new Promise((resolve) => setImmediate(resolve));
      const to = Math.min(Date.now(), sent + EXPIRE * 1_000);
      holdings.push({ owner, from, to });
      await tallies.lock.run(() => client.lock.unLock({ storeName: "lock_etcd", resourceId: "shared", lockOwner: owner }));
    }
  };
  const saver = async () => {
    for (let n = 1; running; n++) {
      const before = tallies.save.successes;
      await tallies.save.run(() =>
        client.configuration.save({ storeName: "config_etcd", appId: "etcd-faults", items: [{ key: "counter", content: String(n) }] }),
      );
      if (tallies.save.successes > before) saved.push(n);
    }
  };
  const workers = Promise.all([sequencer(0), sequencer(1), locker(0), locker(1), locker(2), saver()]);
  return {
    tallies,
    ids,
    holdings,
    saved,
    heard,
    subscriptionClosed: () => subscriptionClosed,
    /** Resolves once `n` more ids were handed out, `n` more saves acknowledged and `n` more locks taken. */
    async progress(n: number): Promise<void> {
      const counts = () => [tallies.sequencer.successes, tallies.save.successes, holdings.length];
      const base = counts();
      await eventually(() => counts().every((count, i) => count >= base[i]! + n), 30_000);
    },
    /** Resolves once every kind of call has failed with `code` (and returns those failures). */
    async failsWith(code: number): Promise<void> {
      const base = Object.values(tallies).map((t) => t.failures.length);
      await eventually(() => Object.values(tallies).every((t, i) => t.failures.slice(base[i]).some((f) => f.code === code)), 30_000);
    },
    /** Stops the workers; the subscription stays. */
    async stop(): Promise<void> {
      running = false;
      await workers;
    },
    unsubscribe(): void {
      call.end();
      call.destroy();
    },
  };
}

it("etcd killed and restarted, then frozen and let go, under load: clear errors while gone, recovery after, ids unique, lock exclusive, changes once in order", async () => {
  const load = await startLoad();
  await load.progress(20);

  const readiness = () => fetch(`http://127.0.0.1:${runtime.actuatorPort}/actuator/health/readiness`).then((r) => r.status);
  expect(await readiness()).toBe(200);

  await etcd.crash();
  await load.failsWith(UNAVAILABLE);
  await eventually(async () => (await readiness()) !== 200);
  await etcd.restart();
  await load.progress(20);
  await eventually(async () => (await readiness()) === 200);

  await etcd.pause();
  await load.failsWith(DEADLINE_EXCEEDED);
  etcd.resume();
  await load.progress(20);
  await load.stop();

  // A sentinel closes the subscriber's log: saved last, heard last.
  const sentinel = load.saved.length + 1_000_000;
  await client.configuration.save({ storeName: "config_etcd", appId: "etcd-faults", items: [{ key: "counter", content: String(sentinel) }] });
  await eventually(() => load.heard.includes(sentinel), 30_000);
  load.unsubscribe();

  const { lock, sequencer, save } = load.tallies;
  const failures = [...lock.failures, ...sequencer.failures, ...save.failures];
  // Only the two statuses of an unreachable etcd, each naming the component.
  expect([...new Set(failures.map((f) => f.code))].sort((a, b) => a - b)).toEqual([DEADLINE_EXCEEDED, UNAVAILABLE]);
  for (const f of failures) expect(f.message).toMatch(/etcd of component '(lock_etcd|sequencer_etcd|config_etcd)'/);

  // No id twice; each worker's ids increase.
  const all = load.ids.flat();
  expect(new Set(all.map(String)).size).toBe(all.length);
  for (const ids of load.ids) expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

  // No two certainly-held intervals of different owners overlap.
  const holdings = [...load.holdings].sort((a, b) => a.from - b.from);
  for (let i = 1; i < holdings.length; i++) {
    const [before, after] = [holdings[i - 1]!, holdings[i]!];
    if (before.owner !== after.owner) expect(after.from).toBeGreaterThanOrEqual(before.to);
  }

  // The subscriber heard values in the order saved, none twice, every acknowledged one
  // (a save answered with an error may have happened too: etcd may have applied it).
  const heard = load.heard.filter((n) => n > 0);
  expect(heard[heard.length - 1]).toBe(sentinel);
  for (let i = 1; i < heard.length; i++) expect(heard[i]!).toBeGreaterThan(heard[i - 1]!);
  const acknowledged = load.saved;
  expect(acknowledged.filter((n) => !heard.includes(n))).toEqual([]);
  expect(load.subscriptionClosed()).toBe("open");

  // The figures, for the note.
  console.log(
    JSON.stringify({
      lock: { ok: lock.successes, failed: lock.failures.length, holdings: holdings.length },
      sequencer: { ok: sequencer.successes, failed: sequencer.failures.length, ids: all.length },
      save: { ok: save.successes, failed: save.failures.length, heard: heard.length },
      codes: Object.fromEntries([UNAVAILABLE, DEADLINE_EXCEEDED].map((c) => [c, failures.filter((f) => f.code === c).length])),
    }),
  );
});
