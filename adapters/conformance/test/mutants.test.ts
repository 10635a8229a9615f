/**
 * The suite has teeth: adapters broken in one typical way each (a mutant of an
 * in-memory adapter) fail the case written for that behaviour, with a message
 * that names what went wrong.
 */
import {
  configurationCases,
  featureCases,
  lockCases,
  lockSuite,
  sequencerSuite,
  runCase,
  sequencerCases,
  stateCases,
  type ConformanceCapability,
  type ConformanceCase,
} from "@ottavo/conformance";
import {
  InMemoryConfigurationStore,
  InMemoryLockStore,
  InMemorySequencer,
  InMemoryStateStore,
} from "@ottavo/adapter-memory";
import type { CapabilityComponents } from "@ottavo/generated/components/registry";
import type { Change } from "@ottavo/generated/components/configuration";
import { EtagMismatchError } from "@ottavo/generated/components/state";
import type { LockFeature, LockStore } from "@ottavo/generated/components/lock";
import type { Sequencer, SequencerFeature } from "@ottavo/generated/components/sequencer";
import type { InMemoryConfiguration, InMemoryLock, InMemoryState } from "@ottavo/generated/components/adapters/in-memory";

/** The one case of a list whose name starts with `name`. */
function caseNamed<C>(cases: readonly ConformanceCase<C>[], name: string): ConformanceCase<C> {
  const found = cases.filter((c) => c.name.startsWith(name));
  if (found.length !== 1) throw new Error(`expected one case named "${name}...", found ${found.length}`);
  return found[0];
}

/** The component with some methods replaced; everything else (state, close) is the original's. */
function mutant<C extends object>(original: C, overrides: Partial<C>): C {
  return Object.assign(Object.create(original) as C, overrides);
}

type AnyComponent = CapabilityComponents[ConformanceCapability];

/**
 * Runs a case on components made by make, expecting it to fail with a message
 * matching pattern. The mutant reports every feature its in-memory original does,
 * which covers what the case needs.
 */
async function expectCaught<C extends AnyComponent>(
  make: (settings: Readonly<Record<string, unknown>>) => AnyComponent,
  conformanceCase: ConformanceCase<C>,
  pattern: RegExp,
): Promise<void> {
  await expect(runCase(async (settings) => make(settings) as C, undefined, conformanceCase)).rejects.toThrow(pattern);
}

describe("state mutants", () => {
  it("a store that treats an empty value as missing", async () => {
    const make = () => {
      const store = new InMemoryStateStore();
      return mutant<InMemoryState>(store, {
        async get(request) {
          const got = await store.get(request);
          return got.data.length === 0 ? { found: false, data: got.data, metadata: {} } : got;
        },
      });
    };
    await expectCaught(make, caseNamed(stateCases.core, "an empty value is a value"), /holding an empty value: found: expected true, got false/);
  });

  it("a store that ignores etags on set", async () => {
    const make = () => {
      const store = new InMemoryStateStore();
      return mutant<InMemoryState>(store, { set: (request) => store.set({ ...request, etag: undefined, concurrency: "LAST_WRITE" }) });
    };
    await expectCaught(
      make,
      caseNamed(stateCases.ETAG, "set with a stale etag"),
      /with stale etag 1 \(first-write\): expected a rejection with status ABORTED, but it succeeded/,
    );
  });

  it("a store that checks the etag under last-write", async () => {
    const make = () => {
      const store = new InMemoryStateStore();
      return mutant<InMemoryState>(store, { set: (request) => store.set({ ...request, concurrency: request.etag ? "FIRST_WRITE" : request.concurrency }) });
    };
    await expectCaught(make, caseNamed(stateCases.ETAG, "last-write ignores the etag"), /last-write set of '.*' with stale etag 1/);
  });

  it("a store that reports an etag mismatch with the wrong status", async () => {
    const make = () => {
      const store = new InMemoryStateStore();
      return mutant<InMemoryState>(store, {
        async delete(request) {
          if (request.etag !== undefined && request.etag !== (await store.get({ key: request.key, consistency: "STRONG", metadata: {} })).etag) {
            throw new Error("etag mismatch");
          }
          return store.delete(request);
        },
      });
    };
    await expectCaught(make, caseNamed(stateCases.ETAG, "delete with a stale etag"), /expected a rejection with status ABORTED, got a plain error/);
  });

  it("a store whose etag check and write race", async () => {
    const make = () => {
      const store = new InMemoryStateStore();
      return mutant<InMemoryState>(store, {
        async set(request) {
          if (request.etag === undefined) return store.set(request);
          const got = await store.get({ key: request.key, consistency: "STRONG", metadata: {} });
          if (got.etag !== request.etag) throw new EtagMismatchError(`stale etag for '${request.key}'`);
          await new Promise((resolve) => setImmediate(resolve));
          return store.set({ ...request, etag: undefined, concurrency: "LAST_WRITE" });
        },
      });
    };
    await expectCaught(
      make,
      caseNamed(stateCases.ETAG, "of 10 writers racing"),
      /that succeeded \(0, 1, 2, 3, 4, 5, 6, 7, 8, 9\): expected 1, got 10/,
    );
  });

  it("a store whose transactions apply operations until one fails", async () => {
    const make = () => {
      const store = new InMemoryStateStore();
      return mutant<InMemoryState>(store, {
        async transact(request) {
          for (const op of request.operations) {
            if (op.set !== undefined) await store.set(op.set);
            if (op.delete !== undefined) await store.delete(op.delete);
          }
        },
      });
    };
    await expectCaught(
      make,
      caseNamed(stateCases.TRANSACTIONAL, "a transaction with a stale etag in the middle"),
      /after a failed transaction that set it first: data/,
    );
  });

  it("a store whose bulkGet leaves missing keys out", async () => {
    const make = () => {
      const store = new InMemoryStateStore();
      return mutant<InMemoryState>(store, { bulkGet: async (request) => (await store.bulkGet(request)).filter((i) => i.found) });
    };
    await expectCaught(make, caseNamed(stateCases.BULK, "bulkGet answers every key"), /keys answered by bulkGet/);
  });

  it("a store that ignores ttlInSeconds", async () => {
    const make = () => {
      const store = new InMemoryStateStore();
      return mutant<InMemoryState>(store, { set: (request) => store.set({ ...request, ttlInSeconds: undefined }) });
    };
    await expectCaught(make, caseNamed(stateCases.TTL, "an item with ttlInSeconds 1"), /expires: still not so after/);
  }, 10_000);
});

describe("lock mutants", () => {
  it("a re-entrant lock", async () => {
    const make = () => {
      const store = new InMemoryLockStore();
      const owners = new Map<string, string>();
      return mutant<InMemoryLock>(store, {
        async tryLock(request) {
          if (owners.get(request.resourceId) === request.lockOwner) return { success: true };
          const result = await store.tryLock(request);
          if (result.success) owners.set(request.resourceId, request.lockOwner);
          return result;
        },
      });
    };
    await expectCaught(make, caseNamed(lockCases.core, "locks are not re-entrant"), /again by its holder: success: expected false, got true/);
  });

  it("a lock anybody can unlock", async () => {
    const make = () => {
      const store = new InMemoryLockStore();
      const owners = new Map<string, string>();
      return mutant<InMemoryLock>(store, {
        async tryLock(request) {
          const result = await store.tryLock(request);
          if (result.success) owners.set(request.resourceId, request.lockOwner);
          return result;
        },
        // Unlocks as whoever holds the lock, whoever asks.
        unlock: (request) => store.unlock({ ...request, lockOwner: owners.get(request.resourceId) ?? request.lockOwner }),
      });
    };
    await expectCaught(make, caseNamed(lockCases.core, "unlock by another owner"), /expected "LOCK_BELONG_TO_OTHERS", got "SUCCESS"/);
  });

  it("a lock that reads expireSeconds as milliseconds", async () => {
    const make = () => {
      const store = new InMemoryLockStore();
      return mutant<InMemoryLock>(store, { tryLock: (request) => store.tryLock({ ...request, expireSeconds: request.expireSeconds / 1000 }) });
    };
    await expectCaught(make, caseNamed(lockCases.core, "a lease lasts its expireSeconds"), /stays held: stopped holding/);
  });

  it("a lock whose check and set race", async () => {
    const make = () => {
      const store = new InMemoryLockStore();
      const taken = new Set<string>();
      return mutant<InMemoryLock>(store, {
        async tryLock(request) {
          const free = !taken.has(request.resourceId);
          await new Promise((resolve) => setImmediate(resolve));
          if (!free) return { success: false };
          taken.add(request.resourceId);
          return { success: true };
        },
      });
    };
    await expectCaught(make, caseNamed(lockCases.core, "of 20 owners racing"), /owners that took .* in a race of 20 .*: expected 1, got 20/);
  });
});

describe("sequencer mutants", () => {
  it("a sequencer whose read and increment race", async () => {
    const make = () => {
      const last = new Map<string, bigint>();
      return mutant(new InMemorySequencer(), {
        async nextId(request: { key: string }) {
          const previous = last.get(request.key) ?? 0n;
          await new Promise((resolve) => setImmediate(resolve));
          last.set(request.key, previous + 1n);
          return previous + 1n;
        },
      });
    };
    await expectCaught(make, caseNamed(sequencerCases.core, "50 concurrent calls"), /distinct ids among 50 concurrent calls/);
  });

  it("a sequencer that ignores biggerThan", async () => {
    const floorless = () => new InMemorySequencer();
    await expectCaught(floorless, caseNamed(sequencerCases.core, "biggerThan"), /with biggerThan 100: expected more than 100, got 1/);
  });
});

describe("configuration mutants", () => {
  const defaults = { defaultGroup: "default", defaultLabel: "default" };

  it("a subscription told of every key of its group", async () => {
    const make = () => {
      const store = new InMemoryConfigurationStore(defaults);
      return mutant<InMemoryConfiguration>(store, { subscribe: (request, handler) => store.subscribe({ ...request, keys: [] }, handler) });
    };
    const exactly = caseNamed(configurationCases.core, "a subscription to keys receives exactly");
    await expectCaught(make, exactly, /items delivered to a subscription to a, b/);
  });

  it("a subscription that close() does not stop", async () => {
    const make = () => {
      const store = new InMemoryConfigurationStore(defaults);
      return mutant<InMemoryConfiguration>(store, {
        async subscribe(request, handler) {
          await store.subscribe(request, handler);
          return { close: async () => {} };
        },
      });
    };
    await expectCaught(make, caseNamed(configurationCases.core, "close() stops events"), /closed after the first/);
  });

  it("a store that does not notify deletes", async () => {
    const make = () => {
      const store = new InMemoryConfigurationStore(defaults);
      return mutant<InMemoryConfiguration>(store, {
        subscribe: (request, handler) =>
          store.subscribe(request, async (change: Change) => {
            const kept = change.items.filter((i) => i.content !== "");
            if (kept.length > 0) await handler({ ...change, items: kept });
          }),
      });
    };
    await expectCaught(make, caseNamed(configurationCases.core, "deletes are notified"), /a change of a="" reaches the subscription/);
  }, 10_000);
});

describe("feature mutants", () => {
  it("a sequencer that reports SEGMENT without declaring it", async () => {
    const [exact, segment] = featureCases(sequencerSuite, []);
    const make = () => mutant<Sequencer>(new InMemorySequencer(), { features: new Set<SequencerFeature>(["SEGMENT"]) });
    await expectCaught(make, segment, /reports SEGMENT without declaring it/);
    await expectCaught(make, exact, /features the component reports: expected \[\], got \["SEGMENT"\]/);
  });

  it("a lock store that declares KEEPALIVE but does not report it", async () => {
    const [exact] = featureCases(lockSuite, ["KEEPALIVE"]);
    const make = () => mutant<LockStore>(new InMemoryLockStore(), { features: new Set<LockFeature>() });
    await expectCaught(make, exact, /features the component reports: expected \["KEEPALIVE"\], got \[\]/);
  });

  it("a declared feature the capability does not have", async () => {
    const [exact] = featureCases(lockSuite, ["KEEPALIVE", "FAIR"]);
    await expectCaught(() => new InMemoryLockStore(), exact, /declares FAIR, not features of lock \(it has KEEPALIVE\)/);
  });
});

it("a failing close fails the case, without hiding the case's own failure", async () => {
  const store = new InMemoryLockStore();
  const failingClose = mutant<InMemoryLock>(store, { close: () => Promise.reject(new Error("connection stuck")) });
  const passing = caseNamed(lockCases.core, "tryLock takes a free lock");
  await expect(runCase(async () => failingClose, undefined, passing)).rejects.toThrow(/close: expected success, got connection stuck/);
  const failing: ConformanceCase<InMemoryLock> = { name: "fails", run: () => Promise.reject(new Error("the case's own failure")) };
  await expect(runCase(async () => failingClose, undefined, failing)).rejects.toThrow(/the case's own failure/);
  await store.close();
});
