import { create } from "@bufbuild/protobuf";
import type { Subscription } from "@ottavo/component-runtime";
import {
  configurationFeatures,
  type Change,
  type ConfigurationFeature,
  type ConfigurationStore,
  type ItemsRequest,
} from "@ottavo/generated/components/configuration";
import { ConfigurationItemSchema, type ConfigurationItem } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { check, equal, fail, sameSet, succeeds } from "./assertions";
import type { ConformanceCase, ConformanceEnv, ConformanceSuite } from "./conformance-case";
import { sleep, waitFor } from "./deadline";

/**
 * The configuration store suite, from spec/components/configuration.cap. Each
 * case works in an app id of its own (the env prefix), so "every key of the group"
 * means the case's keys only, even on a shared backend. Subscription cases wait
 * for events against a deadline; the one absence check (nothing after close)
 * waits a short fixed while, since an absence cannot be polled for.
 */

type Case = ConformanceCase<ConfigurationStore, ConfigurationFeature>;

/** How long an event may take to arrive. */
const EVENT_WITHIN_MS = 3_000;
/** How long the suite listens for an event that must not come. */
const QUIET_MS = 200;

const core: readonly Case[] = [
  {
    name: "save then get of named keys answers those items with their content",
    async run(store, env) {
      const app = env.key("app");
      const metadata = { "x-conformance": "passthrough" };
      const items = [item("k1", "v1", "g", "l"), item("k2", "v2", "g", "l"), item("k3", "v3", "g", "l")];
      await succeeds(store.save({ appId: app, items, metadata }), "save three items");
      const got = await succeeds(store.get({ ...select(app, "g", "l", ["k1", "k3"]), metadata }), "get of two named keys");
      sameContents(got, { k1: "v1", k3: "v3" }, `get k1, k3 of app '${app}' group g label l`);
    },
  },
  {
    name: "get with no keys answers every item of the group and label, and only those",
    async run(store, env) {
      const app = env.key("app");
      await store.save({
        appId: app,
        items: [item("a", "1", "g1", "l1"), item("b", "2", "g1", "l1"), item("c", "3", "g1", "l2"), item("d", "4", "g2", "l1")],
        metadata: {},
      });
      sameContents(await store.get(select(app, "g1", "l1", [])), { a: "1", b: "2" }, `get all of app '${app}' group g1 label l1`);
      sameContents(await store.get(select(app, "g1", "l2", [])), { c: "3" }, `get all of app '${app}' group g1 label l2`);
      sameContents(await store.get(select(app, "g2", "l1", [])), { d: "4" }, `get all of app '${app}' group g2 label l1`);
    },
  },
  {
    name: "a blank group and label mean the store's default, on save and on get",
    async run(store, env) {
      const app = env.key("app");
      await store.save({ appId: app, items: [item("k", "default-scoped")], metadata: {} });
      sameContents(await store.get(select(app, "", "", ["k"])), { k: "default-scoped" }, `get k of app '${app}' with blank group and label`);
      sameContents(await store.get(select(app, "", "", [])), { k: "default-scoped" }, `get all of app '${app}' with blank group and label`);
      sameContents(await store.get(select(app, "other-group", "", ["k"])), {}, `get k of app '${app}' in another group`);
      sameContents(await store.get(select(app, "", "other-label", ["k"])), {}, `get k of app '${app}' with another label`);
    },
  },
  {
    name: "get leaves out keys that do not exist; a group with no items answers none",
    async run(store, env) {
      const app = env.key("app");
      await store.save({ appId: app, items: [item("k", "v", "g", "l")], metadata: {} });
      sameContents(await store.get(select(app, "g", "l", ["k", "missing"])), { k: "v" }, `get k and a missing key of app '${app}'`);
      sameContents(await store.get(select(app, "g", "l", ["missing"])), {}, `get of only a missing key of app '${app}'`);
      sameContents(await store.get(select(app, "empty-group", "l", [])), {}, `get all of a group of app '${app}' with no items`);
    },
  },
  {
    name: "save replaces an existing item",
    async run(store, env) {
      const app = env.key("app");
      await store.save({ appId: app, items: [item("k", "v1", "g", "l")], metadata: {} });
      await store.save({ appId: app, items: [item("k", "v2", "g", "l")], metadata: {} });
      sameContents(await store.get(select(app, "g", "l", [])), { k: "v2" }, `get all of app '${app}' after saving k twice`);
    },
  },
  {
    name: "an item's tags and metadata are kept",
    async run(store, env) {
      const app = env.key("app");
      const saved = item("k", "v", "g", "l", { owner: "team-a", env: "prod" }, { source: "conformance" });
      await store.save({ appId: app, items: [saved], metadata: {} });
      const [got] = await store.get(select(app, "g", "l", ["k"]));
      if (got === undefined) fail(`get k of app '${app}': the saved item is missing`);
      equal(JSON.stringify(sorted(got.tags)), JSON.stringify(sorted(saved.tags)), `tags of k of app '${app}'`);
      equal(JSON.stringify(sorted(got.metadata)), JSON.stringify(sorted(saved.metadata)), `metadata of k of app '${app}'`);
    },
  },
  {
    name: "items are kept per app: another app sees none of them",
    async run(store, env) {
      const [app, other] = [env.key("app"), env.key("other-app")];
      await store.save({ appId: app, items: [item("k", "v", "g", "l")], metadata: {} });
      sameContents(await store.get(select(other, "g", "l", ["k"])), {}, `get k of app '${other}', saved only for '${app}'`);
      sameContents(await store.get(select(other, "g", "l", [])), {}, `get all of app '${other}'`);
    },
  },
  {
    name: "delete removes the named items; missing keys are fine; no keys deletes nothing",
    async run(store, env) {
      const app = env.key("app");
      await store.save({ appId: app, items: [item("a", "1", "g", "l"), item("b", "2", "g", "l"), item("c", "3", "g", "l")], metadata: {} });
      await succeeds(store.delete(select(app, "g", "l", ["a", "missing"])), "delete of a and a missing key");
      sameContents(await store.get(select(app, "g", "l", [])), { b: "2", c: "3" }, `get all of app '${app}' after deleting a`);
      await succeeds(store.delete(select(app, "g", "l", [])), "delete with no keys");
      sameContents(await store.get(select(app, "g", "l", [])), { b: "2", c: "3" }, `get all of app '${app}' after a delete with no keys`);
      await store.delete(select(app, "other-group", "l", ["b"]));
      sameContents(await store.get(select(app, "g", "l", ["b"])), { b: "2" }, `get b of app '${app}' after deleting b of another group`);
    },
  },
  {
    name: "a subscription to keys receives exactly the changes to those keys",
    async run(store, env) {
      const app = env.key("app");
      const log = await subscribe(store, select(app, "g", "l", ["a", "b"]), env);
      // Unwatched changes go first: if they were delivered, they would arrive before the watched one.
      await store.save({ appId: app, items: [item("c", "unwatched", "g", "l")], metadata: {} });
      await store.save({ appId: app, items: [item("a", "other-group", "g2", "l"), item("a", "other-label", "g", "l2")], metadata: {} });
      await store.save({ appId: env.key("other-app"), items: [item("a", "other-app", "g", "l")], metadata: {} });
      await store.save({ appId: app, items: [item("a", "a1", "g", "l")], metadata: {} });
      await log.arrives("a", "a1");
      await store.save({ appId: app, items: [item("b", "b1", "g", "l")], metadata: {} });
      await log.arrives("b", "b1");
      sameSet(log.items().map(describeItem), ["a=a1", "b=b1"], `items delivered to a subscription to a, b of app '${app}'`);
      for (const change of log.changes) equal(change.appId, app, "the app id of a delivered change");
    },
  },
  {
    name: "a subscription without keys receives every change of its group and label, and nothing else",
    async run(store, env) {
      const app = env.key("app");
      const log = await subscribe(store, select(app, "g", "l", []), env);
      await store.save({ appId: app, items: [item("x", "x1", "g", "l")], metadata: {} });
      await store.save({ appId: app, items: [item("y", "other-label", "g", "l2"), item("z", "other-group", "g2", "l")], metadata: {} });
      await store.save({ appId: env.key("other-app"), items: [item("x", "other-app", "g", "l")], metadata: {} });
      await store.save({ appId: app, items: [item("w", "w1", "g", "l")], metadata: {} });
      await log.arrives("x", "x1");
      await log.arrives("w", "w1");
      sameSet(log.items().map(describeItem), ["x=x1", "w=w1"], `items delivered to a subscription to all of app '${app}' group g label l`);
    },
  },
  {
    name: "deletes are notified, with empty content",
    async run(store, env) {
      const app = env.key("app");
      await store.save({ appId: app, items: [item("a", "a1", "g", "l"), item("b", "b1", "g", "l")], metadata: {} });
      const byKey = await subscribe(store, select(app, "g", "l", ["a"]), env);
      const all = await subscribe(store, select(app, "g", "l", []), env);
      await store.delete(select(app, "g", "l", ["a", "b"]));
      await byKey.arrives("a", "");
      await all.arrives("a", "");
      await all.arrives("b", "");
      check(!byKey.items().some((i) => i.key === "b"), `a subscription to a of app '${app}' was told of deleting b`);
    },
  },
  {
    name: "close() stops events",
    async run(store, env) {
      const app = env.key("app");
      const log = await subscribe(store, select(app, "g", "l", ["a"]), env);
      await store.save({ appId: app, items: [item("a", "before-close", "g", "l")], metadata: {} });
      await log.arrives("a", "before-close");
      await succeeds(log.subscription.close(), "close of a subscription");
      await store.save({ appId: app, items: [item("a", "after-close", "g", "l")], metadata: {} });
      await sleep(QUIET_MS);
      sameSet(log.items().map(describeItem), ["a=before-close"], `items delivered to a subscription of app '${app}' closed after the first`);
    },
  },
  {
    name: "subscriptions are independent: each gets its own keys, and closing one leaves the other running",
    async run(store, env) {
      const app = env.key("app");
      const first = await subscribe(store, select(app, "g", "l", ["a"]), env);
      const second = await subscribe(store, select(app, "g", "l", ["b"]), env);
      await store.save({ appId: app, items: [item("a", "a1", "g", "l"), item("b", "b1", "g", "l")], metadata: {} });
      await first.arrives("a", "a1");
      await second.arrives("b", "b1");
      await first.subscription.close();
      await store.save({ appId: app, items: [item("b", "b2", "g", "l")], metadata: {} });
      await second.arrives("b", "b2");
      sameSet(first.items().map(describeItem), ["a=a1"], `items delivered to the subscription to a of app '${app}'`);
      sameSet(second.items().map(describeItem), ["b=b1", "b=b2"], `items delivered to the subscription to b of app '${app}'`);
    },
  },
];

/** Every configuration case; the IDL gives configuration no features yet, and a feature added fails this declaration. */
export const configurationCases: { readonly core: readonly Case[] } & { readonly [F in ConfigurationFeature]: readonly Case[] } = { core };

export const configurationSuite: ConformanceSuite<"configuration"> = {
  capability: "configuration",
  features: configurationFeatures,
  cases: configurationCases,
};

function item(
  key: string,
  content: string,
  group = "",
  label = "",
  tags: Record<string, string> = {},
  metadata: Record<string, string> = {},
): ConfigurationItem {
  return create(ConfigurationItemSchema, { key, content, group, label, tags, metadata });
}

function select(appId: string, group: string, label: string, keys: string[]): ItemsRequest {
  return { appId, group, label, keys, metadata: {} };
}

/** The items answered are exactly these keys with these contents, in any order. */
function sameContents(items: readonly ConfigurationItem[], expected: Record<string, string>, what: string): void {
  sameSet(items.map(describeItem), Object.entries(expected).map(([k, v]) => `${k}=${v}`), what);
}

function describeItem(i: ConfigurationItem): string {
  return `${i.key}=${i.content}`;
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

interface ChangeLog {
  /** The subscription; closing it through here lets the case's cleanup skip it. */
  readonly subscription: Subscription;
  readonly changes: readonly Change[];
  items(): ConfigurationItem[];
  /** Waits until an item with this key and content has been delivered. */
  arrives(key: string, content: string): Promise<void>;
}

/** Subscribes, recording every change; the subscription is closed with the case if the case does not close it. */
async function subscribe(store: ConfigurationStore, request: ItemsRequest, env: ConformanceEnv<ConfigurationStore>): Promise<ChangeLog> {
  const changes: Change[] = [];
  const opened = await succeeds(
    store.subscribe(request, async (change) => {
      changes.push(change);
    }),
    `subscribe to [${request.keys.join(", ")}] of app '${request.appId}' group ${request.group} label ${request.label}`,
  );
  let closed = false;
  const subscription: Subscription = {
    close() {
      closed = true;
      return opened.close();
    },
  };
  env.defer(async () => {
    if (!closed) await subscription.close();
  });
  const items = () => changes.flatMap((c) => c.items);
  return {
    subscription,
    changes,
    items,
    arrives: (key, content) =>
      waitFor(
        () =>
          `a change of ${key}=${JSON.stringify(content)} reaches the subscription to [${request.keys.join(", ")}] ` +
          `of app '${request.appId}' (got ${JSON.stringify(items().map(describeItem))})`,
        EVENT_WITHIN_MS,
        () => items().some((i) => i.key === key && i.content === content),
        20,
      ),
  };
}
