import { randomBytes } from "node:crypto";
import {
  stateFeatures,
  stateStoreHas,
  type DeleteRequest,
  type GetResponse,
  type SetRequest,
  type StateFeature,
  type StateStore,
  type StateStoreWith,
} from "@ottavo/generated/components/state";
import { check, equal, fail, rejectsWith, sameBytes, sameSet, succeeds, utf8 } from "./assertions";
import type { ConformanceCase, ConformanceSuite } from "./conformance-case";
import { holdsFor, waitFor } from "./deadline";

/**
 * The state store suite, from spec/components/state.cap.
 *
 * Every read and write asks for STRONG consistency: the cases read their own
 * writes at once, which the IDL promises only for STRONG (EVENTUAL "may answer
 * before every replica agrees"). Etags are opaque: the suite never builds one, it
 * only reuses etags the store issued (a stale one is an etag the key had before
 * its last write).
 */

type Case<F extends StateFeature | never> = ConformanceCase<[F] extends [never] ? StateStore : StateStoreWith<F>, StateFeature>;

/** The core: every state store, whatever it declares. */
const core: readonly Case<never>[] = [
  {
    name: "set then get returns the value, found",
    async run(store, env) {
      const key = env.key("k");
      await succeeds(store.set(setOf(key, "hello")), `set '${key}'`);
      const got = await get(store, key);
      equal(got.found, true, `get '${key}' after set: found`);
      sameBytes(got.data, utf8("hello"), `get '${key}' after set: data`);
    },
  },
  {
    name: "get of a missing key answers found=false, empty data and no etag, without error",
    async run(store, env) {
      const key = env.key("never-written");
      const got = await succeeds(store.get(getOf(key)), `get of missing '${key}'`);
      equal(got.found, false, `get of missing '${key}': found`);
      sameBytes(got.data, new Uint8Array(0), `get of missing '${key}': data`);
      equal(got.etag, undefined, `get of missing '${key}': etag`);
    },
  },
  {
    name: "an empty value is a value: found=true with empty data",
    async run(store, env) {
      const key = env.key("empty");
      await succeeds(store.set(setOf(key, new Uint8Array(0))), `set '${key}' to an empty value`);
      const got = await get(store, key);
      equal(got.found, true, `get '${key}' holding an empty value: found`);
      sameBytes(got.data, new Uint8Array(0), `get '${key}' holding an empty value: data`);
    },
  },
  {
    name: "delete removes the item and leaves other keys alone",
    async run(store, env) {
      const [gone, kept] = [env.key("gone"), env.key("kept")];
      await store.set(setOf(gone, "a"));
      await store.set(setOf(kept, "b"));
      await succeeds(store.delete(deleteOf(gone)), `delete '${gone}'`);
      equal((await get(store, gone)).found, false, `get '${gone}' after delete: found`);
      const other = await get(store, kept);
      equal(other.found, true, `get '${kept}' after deleting another key: found`);
      sameBytes(other.data, utf8("b"), `get '${kept}' after deleting another key: data`);
    },
  },
  {
    name: "delete of a missing key succeeds",
    async run(store, env) {
      const key = env.key("missing");
      await succeeds(store.delete(deleteOf(key)), `delete of missing '${key}'`);
      equal((await get(store, key)).found, false, `get '${key}' after deleting it while missing: found`);
    },
  },
  {
    name: "a later set overwrites the value (last write wins)",
    async run(store, env) {
      const key = env.key("k");
      for (const value of ["one", "two", "three"]) await store.set(setOf(key, value));
      sameBytes((await get(store, key)).data, utf8("three"), `get '${key}' after three sets: data`);
    },
  },
  {
    name: "a deleted key can be written again",
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "first"));
      await store.delete(deleteOf(key));
      await succeeds(store.set(setOf(key, "second")), `set '${key}' after deleting it`);
      const got = await get(store, key);
      equal(got.found, true, `get '${key}' rewritten after delete: found`);
      sameBytes(got.data, utf8("second"), `get '${key}' rewritten after delete: data`);
    },
  },
  {
    name: "request metadata is passed through without changing the outcome",
    async run(store, env) {
      const key = env.key("k");
      const metadata = { contentType: "application/json", "x-conformance": "passthrough" };
      await succeeds(store.set({ ...setOf(key, '{"a":1}'), metadata }), `set '${key}' with request metadata`);
      const got = await succeeds(store.get({ ...getOf(key), metadata }), `get '${key}' with request metadata`);
      sameBytes(got.data, utf8('{"a":1}'), `get '${key}' with request metadata: data`);
      await succeeds(store.delete({ ...deleteOf(key), metadata }), `delete '${key}' with request metadata`);
      equal((await get(store, key)).found, false, `get '${key}' after delete with metadata: found`);
    },
  },
  {
    name: "binary values round-trip byte for byte (every byte value, invalid UTF-8, NUL)",
    async run(store, env) {
      const key = env.key("binary");
      const value = new Uint8Array(512);
      for (let i = 0; i < 256; i++) value[i] = i;
      value.set([0xc3, 0x28, 0xff, 0xfe, 0x00, 0xed, 0xa0, 0x80], 256); // invalid UTF-8 on purpose
      await store.set(setOf(key, value));
      sameBytes((await get(store, key)).data, value, `get '${key}' holding binary data`);
    },
  },
  {
    name: "a 1 MiB value round-trips intact",
    timeoutMs: 30_000,
    async run(store, env) {
      const key = env.key("large");
      const value = new Uint8Array(randomBytes(1024 * 1024));
      await succeeds(store.set(setOf(key, value)), `set '${key}' to 1 MiB`);
      sameBytes((await get(store, key)).data, value, `get '${key}' holding 1 MiB`);
    },
  },
  {
    name: "keys are opaque: separators, spaces and non-ASCII keep keys distinct and intact",
    async run(store, env) {
      // The kernel scopes keys as "<app>||<key>"; adapters must not read meaning into them.
      const names = ["app||key", "app|key", "app||key||", "a:b/c", "with space", "ключ-鍵-🔑", "*", "?", "[x]"];
      const keys = names.map((n) => env.key(n));
      for (const [i, key] of keys.entries()) await store.set(setOf(key, `value ${i}`));
      for (const [i, key] of keys.entries()) {
        const got = await get(store, key);
        equal(got.found, true, `get '${key}': found`);
        sameBytes(got.data, utf8(`value ${i}`), `get '${key}': data`);
      }
      await store.delete(deleteOf(keys[0]));
      equal((await get(store, keys[2])).found, true, `get '${keys[2]}' after deleting '${keys[0]}': found`);
    },
  },
];

/** ETAG: versions on every item, checked on first-write writes and deletes, ignored under last-write. */
const etag: readonly Case<"ETAG">[] = [
  {
    name: "set gives the item a non-empty etag",
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "v"));
      await etagOf(store, key);
    },
  },
  {
    name: "every write changes the etag, even one that stores the same value",
    async run(store, env) {
      const key = env.key("k");
      const seen: string[] = [];
      for (const value of ["same", "same", "other"]) {
        await store.set(setOf(key, value));
        seen.push(await etagOf(store, key));
      }
      equal(new Set(seen).size, seen.length, `etags of '${key}' after three writes (${seen.join(", ")}) are distinct`);
    },
  },
  {
    name: "set with the current etag succeeds and issues a new etag",
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "v1"));
      const current = await etagOf(store, key);
      await succeeds(store.set(setOf(key, "v2", checked(current))), `set '${key}' with its current etag`);
      const got = await get(store, key);
      sameBytes(got.data, utf8("v2"), `get '${key}' after an etag-checked set: data`);
      check(got.etag !== current, `set '${key}' with its current etag: the etag should change, still ${current}`);
    },
  },
  {
    name: "set with a stale etag under first-write is rejected with ABORTED, and value and etag stay unchanged",
    async run(store, env) {
      const key = env.key("k");
      const { stale, current } = await staleAndCurrent(store, key);
      await rejectsWith(store.set(setOf(key, "lost", checked(stale))), ["ABORTED"], `set '${key}' with stale etag ${stale} (first-write)`);
      await unchanged(store, key, "v2", current, "after set with a stale etag");
    },
  },
  {
    // Layotto's stores and Dapr's Redis store ignore the etag under last-write, and
    // Layotto's own state demo relies on it (it saves with a made-up etag "2").
    name: "last-write ignores the etag on set and delete: stale, unknown and malformed etags all write",
    async run(store, env) {
      const key = env.key("k");
      const { stale } = await staleAndCurrent(store, key);
      await succeeds(store.set(setOf(key, "v3", { etag: stale })), `last-write set of '${key}' with stale etag ${stale}`);
      sameBytes((await get(store, key)).data, utf8("v3"), `'${key}' after a last-write set with a stale etag: data`);
      await succeeds(store.set(setOf(key, "v4", { etag: "not-an-etag" })), `last-write set of '${key}' with etag "not-an-etag"`);
      sameBytes((await get(store, key)).data, utf8("v4"), `'${key}' after a last-write set with a malformed etag: data`);
      const fresh = env.key("fresh");
      await succeeds(store.set(setOf(fresh, "new", { etag: "2" })), `last-write set of new '${fresh}' with etag "2"`);
      sameBytes((await get(store, fresh)).data, utf8("new"), `'${fresh}' inserted by a last-write set with an etag: data`);
      await succeeds(store.delete(deleteOf(key, { etag: stale })), `last-write delete of '${key}' with stale etag ${stale}`);
      equal((await get(store, key)).found, false, `'${key}' after a last-write delete with a stale etag: found`);
      await succeeds(store.delete(deleteOf(fresh, { etag: "not-an-etag" })), `last-write delete of '${fresh}' with a malformed etag`);
      equal((await get(store, fresh)).found, false, `'${fresh}' after a last-write delete with a malformed etag: found`);
    },
  },
  {
    name: "delete with a stale etag is rejected with ABORTED and the item stays",
    async run(store, env) {
      const key = env.key("k");
      const { stale, current } = await staleAndCurrent(store, key);
      await rejectsWith(store.delete(deleteOf(key, checked(stale))), ["ABORTED"], `delete '${key}' with stale etag ${stale}`);
      await unchanged(store, key, "v2", current, "after delete with a stale etag");
    },
  },
  {
    name: "delete with the current etag deletes",
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "v"));
      const current = await etagOf(store, key);
      await succeeds(store.delete(deleteOf(key, checked(current))), `delete '${key}' with its current etag`);
      equal((await get(store, key)).found, false, `get '${key}' after an etag-checked delete: found`);
    },
  },
  {
    name: "an etag given for a key that no longer exists is rejected with ABORTED, for set and delete",
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "v"));
      const old = await etagOf(store, key);
      await store.delete(deleteOf(key));
      await rejectsWith(store.set(setOf(key, "revived", checked(old))), ["ABORTED"], `set of deleted '${key}' with its old etag ${old}`);
      equal((await get(store, key)).found, false, `get '${key}' after a rejected etag-checked set: found`);
      await rejectsWith(store.delete(deleteOf(key, checked(old))), ["ABORTED"], `delete of deleted '${key}' with its old etag ${old}`);
    },
  },
  {
    // The IDL: EtagInvalid (INVALID_ARGUMENT) is for an etag "this store could not
    // have issued"; EtagMismatch (ABORTED) for one that does not match. Whether
    // "not-an-etag" is well-formed is the store's business (opaque-etag stores may
    // accept any string), so either status passes; succeeding never does.
    name: "a malformed etag is rejected with INVALID_ARGUMENT or ABORTED and changes nothing",
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "v"));
      const current = await etagOf(store, key);
      await rejectsWith(
        store.set(setOf(key, "lost", checked("not-an-etag"))),
        ["INVALID_ARGUMENT", "ABORTED"],
        `set '${key}' with etag "not-an-etag"`,
      );
      await rejectsWith(
        store.delete(deleteOf(key, checked("not-an-etag"))),
        ["INVALID_ARGUMENT", "ABORTED"],
        `delete '${key}' with etag "not-an-etag"`,
      );
      await unchanged(store, key, "v", current, 'after writes with etag "not-an-etag"');
    },
  },
  {
    name: "first-write without an etag only inserts: a second insert is rejected with ABORTED, the first value stays",
    async run(store, env) {
      const key = env.key("k");
      await succeeds(store.set(setOf(key, "first", { concurrency: "FIRST_WRITE" })), `first-write insert of new '${key}'`);
      const current = await etagOf(store, key);
      await rejectsWith(
        store.set(setOf(key, "second", { concurrency: "FIRST_WRITE" })),
        ["ABORTED"],
        `first-write without etag on existing '${key}'`,
      );
      await unchanged(store, key, "first", current, "after a rejected first-write insert");
      await store.delete(deleteOf(key));
      await succeeds(store.set(setOf(key, "again", { concurrency: "FIRST_WRITE" })), `first-write insert of '${key}' after delete`);
      sameBytes((await get(store, key)).data, utf8("again"), `get '${key}' re-inserted by first-write: data`);
    },
  },
  {
    name: "first-write with the current etag succeeds; repeating it with that now-stale etag is rejected",
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "v1"));
      const first = await etagOf(store, key);
      await succeeds(store.set(setOf(key, "v2", checked(first))), `first-write of '${key}' with its current etag`);
      const second = await etagOf(store, key);
      check(second !== first, `first-write of '${key}': the etag should change, still ${first}`);
      await rejectsWith(
        store.set(setOf(key, "v3", checked(first))),
        ["ABORTED"],
        `first-write of '${key}' with stale etag ${first}`,
      );
      await unchanged(store, key, "v2", second, "after a rejected first-write");
    },
  },
  {
    name: "of 10 writers racing with the same current etag, exactly one wins and the rest get ABORTED",
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "start"));
      const current = await etagOf(store, key);
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.set(setOf(key, `writer-${i}`, checked(current)))));
      const winners = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
      equal(winners.length, 1, `writers of '${key}' with etag ${current} that succeeded (${winners.join(", ")})`);
      for (const [i, o] of outcomes.entries()) {
        if (o.status === "rejected") await rejectsWith(Promise.reject(o.reason), ["ABORTED"], `losing writer ${i} of '${key}'`);
      }
      sameBytes((await get(store, key)).data, utf8(`writer-${winners[0]}`), `'${key}' after the race: data`);
    },
  },
  {
    name: "of 10 first-write inserts racing for a new key, exactly one wins",
    async run(store, env) {
      const key = env.key("k");
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => store.set(setOf(key, `writer-${i}`, { concurrency: "FIRST_WRITE" }))),
      );
      const winners = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
      equal(winners.length, 1, `first-write inserts of new '${key}' that succeeded (${winners.join(", ")})`);
      sameBytes((await get(store, key)).data, utf8(`writer-${winners[0]}`), `'${key}' after the race: data`);
    },
  },
  {
    name: "first-write delete with the current etag deletes; with a stale one it is rejected",
    async run(store, env) {
      const key = env.key("k");
      const { stale, current } = await staleAndCurrent(store, key);
      await rejectsWith(
        store.delete(deleteOf(key, checked(stale))),
        ["ABORTED"],
        `first-write delete of '${key}' with stale etag ${stale}`,
      );
      await unchanged(store, key, "v2", current, "after a rejected first-write delete");
      await succeeds(
        store.delete(deleteOf(key, checked(current))),
        `first-write delete of '${key}' with its current etag`,
      );
      equal((await get(store, key)).found, false, `get '${key}' after first-write delete: found`);
    },
  },
];

/** TRANSACTIONAL: transact applies operations in order, all or nothing. */
const transactional: readonly Case<"TRANSACTIONAL">[] = [
  {
    name: "a transaction applies sets and deletes in order",
    async run(store, env) {
      const [k1, k2, k3, k4] = ["existing", "set-then-deleted", "inserted", "set-twice"].map((n) => env.key(n));
      await store.set(setOf(k1, "v1"));
      await succeeds(
        store.transact({
          operations: [
            { delete: deleteOf(k1) },
            { set: setOf(k2, "v2") },
            { delete: deleteOf(k2) },
            { set: setOf(k3, "v3") },
            { set: setOf(k4, "first") },
            { set: setOf(k4, "last") },
          ],
          metadata: {},
        }),
        "transaction of deletes and sets",
      );
      equal((await get(store, k1)).found, false, `'${k1}' deleted by the transaction: found`);
      equal((await get(store, k2)).found, false, `'${k2}' set then deleted in one transaction: found`);
      sameBytes((await get(store, k3)).data, utf8("v3"), `'${k3}' set by the transaction: data`);
      sameBytes((await get(store, k4)).data, utf8("last"), `'${k4}' set twice in one transaction: data`);
    },
  },
  {
    name: "a delete then set of one key in a transaction leaves it set",
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "before"));
      await store.transact({ operations: [{ delete: deleteOf(key) }, { set: setOf(key, "after") }], metadata: {} });
      const got = await get(store, key);
      equal(got.found, true, `'${key}' deleted then set in one transaction: found`);
      sameBytes(got.data, utf8("after"), `'${key}' deleted then set in one transaction: data`);
    },
  },
  {
    name: "an empty transaction succeeds",
    async run(store) {
      await succeeds(store.transact({ operations: [], metadata: {} }), "transaction with no operations");
    },
  },
  {
    name: "a transaction with a stale etag in the middle is rejected with ABORTED and applies nothing",
    alsoRequires: ["ETAG"],
    async run(store, env) {
      const [a, b, c, d] = ["a", "b-stale", "c-new", "d-deleted"].map((n) => env.key(n));
      await store.set(setOf(a, "a1"));
      const { stale, current: bEtag } = await staleAndCurrent(store, b);
      await store.set(setOf(d, "d1"));
      const aEtag = await etagOf(store, a);
      const dEtag = await etagOf(store, d);
      await rejectsWith(
        store.transact({
          operations: [
            { set: setOf(a, "a2", checked(aEtag)) },
            { delete: deleteOf(d) },
            { set: setOf(b, "b3", checked(stale)) },
            { set: setOf(c, "c1") },
          ],
          metadata: {},
        }),
        ["ABORTED"],
        `transaction whose third operation gives stale etag ${stale} for '${b}'`,
      );
      await unchanged(store, a, "a1", aEtag, "after a failed transaction that set it first");
      await unchanged(store, d, "d1", dEtag, "after a failed transaction that deleted it");
      await unchanged(store, b, "v2", bEtag, "after a failed transaction with its stale etag");
      equal((await get(store, c)).found, false, `'${c}' inserted after the failing operation of a failed transaction: found`);
    },
  },
  {
    name: "a transaction whose first-write insert meets an existing key is rejected with ABORTED and applies nothing",
    alsoRequires: ["ETAG"],
    async run(store, env) {
      const [a, b] = [env.key("a"), env.key("b-exists")];
      await store.set(setOf(b, "b1"));
      const bEtag = await etagOf(store, b);
      await rejectsWith(
        store.transact({ operations: [{ set: setOf(a, "a1") }, { set: setOf(b, "b2", { concurrency: "FIRST_WRITE" }) }], metadata: {} }),
        ["ABORTED"],
        `transaction with a first-write insert of existing '${b}'`,
      );
      equal((await get(store, a)).found, false, `'${a}' set before the failing operation of a failed transaction: found`);
      await unchanged(store, b, "b1", bEtag, "after a failed first-write insert in a transaction");
    },
  },
  {
    name: "a transaction with current etags applies and issues new etags",
    alsoRequires: ["ETAG"],
    async run(store, env) {
      const [a, b] = [env.key("a"), env.key("b")];
      await store.set(setOf(a, "a1"));
      await store.set(setOf(b, "b1"));
      const [aEtag, bEtag] = [await etagOf(store, a), await etagOf(store, b)];
      await succeeds(
        store.transact({ operations: [{ set: setOf(a, "a2", checked(aEtag)) }, { delete: deleteOf(b, checked(bEtag)) }], metadata: {} }),
        "transaction with current etags",
      );
      const got = await get(store, a);
      sameBytes(got.data, utf8("a2"), `'${a}' set by an etag-checked transaction: data`);
      check(got.etag !== undefined && got.etag !== aEtag, `'${a}' set by a transaction: the etag should change, got ${got.etag}`);
      equal((await get(store, b)).found, false, `'${b}' deleted by an etag-checked transaction: found`);
    },
  },
];

/** TTL: ttlInSeconds expires items; -1, or a later write without a TTL, keeps them. */
const ttl: readonly Case<"TTL">[] = [
  {
    name: "an item with ttlInSeconds 1 is readable at once and gone within 3 s",
    timeoutMs: 15_000,
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "short-lived", { ttlInSeconds: 1 }));
      equal((await get(store, key)).found, true, `get '${key}' right after set with a 1 s TTL: found`);
      await expires(store, key, 3_000);
    },
  },
  {
    name: "the TTL of the latest write counts: shortening it to 1 s expires the item",
    timeoutMs: 15_000,
    async run(store, env) {
      const key = env.key("k");
      await store.set(setOf(key, "v1", { ttlInSeconds: 3600 }));
      await store.set(setOf(key, "v2", { ttlInSeconds: 1 }));
      await expires(store, key, 3_000);
    },
  },
  {
    name: "a later write with ttlInSeconds -1, or without a TTL, keeps the item past its old expiry",
    timeoutMs: 15_000,
    async run(store, env) {
      const [persisted, rewritten] = [env.key("minus-one"), env.key("no-ttl")];
      await store.set(setOf(persisted, "v1", { ttlInSeconds: 1 }));
      await store.set(setOf(rewritten, "v1", { ttlInSeconds: 1 }));
      await store.set(setOf(persisted, "v2", { ttlInSeconds: -1 }));
      await store.set(setOf(rewritten, "v2"));
      // Presence past a deadline cannot be polled for: check it all along, until well after the old expiry.
      await holdsFor(`'${persisted}' (TTL removed by -1) and '${rewritten}' (rewritten without TTL) stay readable`, 2_200, async () => {
        const [p, r] = [await get(store, persisted), await get(store, rewritten)];
        return p.found && r.found;
      });
      sameBytes((await get(store, persisted)).data, utf8("v2"), `'${persisted}' after its TTL was removed: data`);
    },
  },
  {
    name: "ttlInSeconds is honoured inside a transaction",
    alsoRequires: ["TRANSACTIONAL"],
    timeoutMs: 15_000,
    async run(store, env) {
      const key = env.key("k");
      if (!stateStoreHas(store, "TRANSACTIONAL")) fail("the store declares TRANSACTIONAL but does not report it");
      await store.transact({ operations: [{ set: setOf(key, "v", { ttlInSeconds: 1 }) }], metadata: {} });
      equal((await get(store, key)).found, true, `get '${key}' right after a transaction set it with a 1 s TTL: found`);
      await expires(store, key, 3_000);
    },
  },
  {
    name: "ttlInSeconds is honoured by bulkSet",
    alsoRequires: ["BULK"],
    timeoutMs: 15_000,
    async run(store, env) {
      const [a, b] = [env.key("a"), env.key("b")];
      if (!stateStoreHas(store, "BULK")) fail("the store declares BULK but does not report it");
      await store.bulkSet([setOf(a, "a", { ttlInSeconds: 1 }), setOf(b, "b")]);
      await expires(store, a, 3_000);
      equal((await get(store, b)).found, true, `'${b}', bulk-set without a TTL beside an expiring item: found`);
    },
  },
];

/** BULK: native multi-key reads, writes and deletes. */
const bulk: readonly Case<"BULK">[] = [
  {
    name: "bulkGet answers every key with its own key: found ones with data, missing ones found=false",
    async run(store, env) {
      const [a, missing, b] = [env.key("a"), env.key("missing"), env.key("b")];
      await store.set(setOf(a, "va"));
      await store.set(setOf(b, "vb"));
      const items = await succeeds(store.bulkGet({ keys: [a, missing, b], metadata: {} }), "bulkGet of two present and one missing key");
      sameSet(items.map((i) => i.key), [a, missing, b], "keys answered by bulkGet");
      const byKey = new Map(items.map((i) => [i.key, i]));
      for (const [key, value] of [[a, "va"], [b, "vb"]] as const) {
        const item = byKey.get(key)!;
        equal(item.error, undefined, `bulkGet '${key}': error`);
        equal(item.found, true, `bulkGet '${key}': found`);
        sameBytes(item.data, utf8(value), `bulkGet '${key}': data`);
      }
      const absent = byKey.get(missing)!;
      equal(absent.found, false, `bulkGet of missing '${missing}': found`);
      sameBytes(absent.data, new Uint8Array(0), `bulkGet of missing '${missing}': data`);
      equal(absent.etag, undefined, `bulkGet of missing '${missing}': etag`);
    },
  },
  {
    name: "bulkSet writes every item, empty values included",
    async run(store, env) {
      const entries = [["a", "va"], ["b", ""], ["c", "vc"]].map(([n, v]) => [env.key(n), v] as const);
      await succeeds(store.bulkSet(entries.map(([k, v]) => setOf(k, v))), "bulkSet of three items");
      for (const [key, value] of entries) {
        const got = await get(store, key);
        equal(got.found, true, `get '${key}' after bulkSet: found`);
        sameBytes(got.data, utf8(value), `get '${key}' after bulkSet: data`);
      }
      const items = await store.bulkGet({ keys: entries.map(([k]) => k), metadata: {} });
      for (const item of items) equal(item.found, true, `bulkGet '${item.key}' after bulkSet: found`);
    },
  },
  {
    name: "bulkDelete deletes every item, missing keys included, and leaves others",
    async run(store, env) {
      const [a, b, missing, kept] = ["a", "b", "missing", "kept"].map((n) => env.key(n));
      await store.bulkSet([setOf(a, "a"), setOf(b, "b"), setOf(kept, "k")]);
      await succeeds(store.bulkDelete([deleteOf(a), deleteOf(b), deleteOf(missing)]), "bulkDelete of two present and one missing key");
      for (const key of [a, b, missing]) equal((await get(store, key)).found, false, `get '${key}' after bulkDelete: found`);
      equal((await get(store, kept)).found, true, `get '${kept}', not in the bulkDelete: found`);
    },
  },
  {
    name: "empty bulk calls are no-ops",
    async run(store) {
      equal((await succeeds(store.bulkGet({ keys: [], metadata: {} }), "bulkGet of no keys")).length, 0, "items answered by bulkGet of no keys");
      await succeeds(store.bulkSet([]), "bulkSet of no items");
      await succeeds(store.bulkDelete([]), "bulkDelete of no items");
    },
  },
  {
    name: "bulkGet answers the same etags as get",
    alsoRequires: ["ETAG"],
    async run(store, env) {
      const [a, b] = [env.key("a"), env.key("b")];
      await store.bulkSet([setOf(a, "a"), setOf(b, "b")]);
      const items = await store.bulkGet({ keys: [a, b], metadata: {} });
      for (const item of items) equal(item.etag, await etagOf(store, item.key), `bulkGet '${item.key}': etag`);
    },
  },
  {
    name: "bulkSet with a stale etag is rejected with ABORTED and that item stays unchanged",
    alsoRequires: ["ETAG"],
    async run(store, env) {
      // Bulk writes need not be atomic: the other item may or may not be written.
      const [a, b] = [env.key("stale"), env.key("fresh")];
      const { stale, current } = await staleAndCurrent(store, a);
      await store.set(setOf(b, "b1"));
      await rejectsWith(
        store.bulkSet([setOf(a, "lost", checked(stale)), setOf(b, "b2", checked(await etagOf(store, b)))]),
        ["ABORTED"],
        `bulkSet giving stale etag ${stale} for '${a}'`,
      );
      await unchanged(store, a, "v2", current, "after a bulkSet with its stale etag");
    },
  },
  {
    name: "bulkDelete with a stale etag is rejected with ABORTED and that item stays",
    alsoRequires: ["ETAG"],
    async run(store, env) {
      const [a, b] = [env.key("stale"), env.key("fresh")];
      const { stale, current } = await staleAndCurrent(store, a);
      await store.set(setOf(b, "b1"));
      await rejectsWith(
        store.bulkDelete([deleteOf(b, checked(await etagOf(store, b))), deleteOf(a, checked(stale))]),
        ["ABORTED"],
        `bulkDelete giving stale etag ${stale} for '${a}'`,
      );
      await unchanged(store, a, "v2", current, "after a bulkDelete with its stale etag");
    },
  },
];

/**
 * Every state case, by group. The type lists every StateFeature of the IDL: a new
 * feature in state.cap fails this declaration until it has cases here.
 */
export const stateCases: { readonly core: readonly Case<never>[] } & { readonly [F in StateFeature]: readonly Case<F>[] } = {
  core,
  ETAG: etag,
  TRANSACTIONAL: transactional,
  TTL: ttl,
  BULK: bulk,
};

export const stateSuite: ConformanceSuite<"state"> = { capability: "state", features: stateFeatures, cases: stateCases };

function getOf(key: string) {
  return { key, consistency: "STRONG" as const, metadata: {} };
}

function setOf(key: string, value: string | Uint8Array, extra: Partial<SetRequest> = {}): SetRequest {
  return {
    key,
    value: typeof value === "string" ? utf8(value) : value,
    concurrency: "LAST_WRITE",
    consistency: "STRONG",
    metadata: {},
    ...extra,
  };
}

/** An etag-checked write: under last-write the etag is ignored, so checks ask for first-write. */
function checked(etag: string): { etag: string; concurrency: "FIRST_WRITE" } {
  return { etag, concurrency: "FIRST_WRITE" };
}

function deleteOf(key: string, extra: Partial<DeleteRequest> = {}): DeleteRequest {
  return { key, concurrency: "LAST_WRITE", consistency: "STRONG", metadata: {}, ...extra };
}

async function get(store: StateStore, key: string): Promise<GetResponse> {
  return succeeds(store.get(getOf(key)), `get '${key}'`);
}

/** The etag of an existing item; fails when the item is missing or has none. */
async function etagOf(store: StateStore, key: string): Promise<string> {
  const got = await get(store, key);
  if (!got.found) fail(`get '${key}': expected the item to exist, it does not`);
  if (typeof got.etag !== "string" || got.etag === "") fail(`get '${key}': an ETAG store must answer an etag, got ${JSON.stringify(got.etag)}`);
  return got.etag;
}

/** Writes "v1" then "v2": the etag after the first write is stale, the second current. */
async function staleAndCurrent(store: StateStore, key: string): Promise<{ stale: string; current: string }> {
  await store.set(setOf(key, "v1"));
  const stale = await etagOf(store, key);
  await store.set(setOf(key, "v2"));
  const current = await etagOf(store, key);
  check(stale !== current, `'${key}' written twice: the etag should change, both are ${stale}`);
  return { stale, current };
}

/** The item still holds value with etag: nothing was written. */
async function unchanged(store: StateStore, key: string, value: string, etag: string, when: string): Promise<void> {
  const got = await get(store, key);
  equal(got.found, true, `'${key}' ${when}: found`);
  sameBytes(got.data, utf8(value), `'${key}' ${when}: data`);
  equal(got.etag, etag, `'${key}' ${when}: etag`);
}

async function expires(store: StateStore, key: string, withinMs: number): Promise<void> {
  await waitFor(`'${key}' expires`, withinMs, async () => !(await get(store, key)).found, 100);
}
