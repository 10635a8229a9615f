import { create } from "@bufbuild/protobuf";
import { ComponentError } from "@ottavo/component-runtime";
import type { RedisConfiguration } from "@ottavo/generated/components/adapters/redis";
import type { Change, ItemsRequest } from "@ottavo/generated/components/configuration";
import { ConfigurationItemSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { redisConfigurationAdapter } from "../src/redis-configuration-store";
import { closer, context, eventually, useRedis } from "./support";

const redis = useRedis();
const components = closer();
afterEach(() => components.closeAll());

async function store(metadata: Record<string, unknown> = {}): Promise<RedisConfiguration> {
  return components.track(await redisConfigurationAdapter.create(redis.metadata(metadata), context()));
}

const item = (key: string, content: string, group = "", label = "", tags: Record<string, string> = {}) =>
  create(ConfigurationItemSchema, { key, content, group, label, tags });

const items = (keys: string[] = [], group = "", label = "", appId = "app1"): ItemsRequest => ({
  appId,
  group,
  label,
  keys,
  metadata: {},
});

const save = (s: RedisConfiguration, ...given: ReturnType<typeof item>[]) =>
  s.save({ appId: "app1", items: given, metadata: {} });

/** key, content, group, label per item of a change. */
const summary = (change: Change) => [change.appId, change.items.map((i) => [i.key, i.content, i.group, i.label])];

/** A subscription's changes, in arrival order. */
async function watch(s: RedisConfiguration, request: ItemsRequest) {
  const changes: Change[] = [];
  const subscription = await s.subscribe(request, async (change) => {
    changes.push(change);
  });
  return { changes, subscription };
}

describe("redis configuration", () => {
  it("keeps one hash per app, group and label, with JSON items, and reads them back", async () => {
    const s = await store();
    await save(s, item("timeout", "5s", "", "", { team: "a" }), item("retries", "3", "g", "prod"));
    expect(await redis.raw().hgetall("configuration|app1|default|default")).toEqual({
      timeout: JSON.stringify({ content: "5s", tags: { team: "a" }, metadata: {} }),
    });
    expect(await redis.raw().hkeys("configuration|app1|g|prod")).toEqual(["retries"]);
    const read = await s.get(items(["timeout", "missing"]));
    expect(read.map((i) => [i.key, i.content, i.group, i.label, i.tags])).toEqual([
      ["timeout", "5s", "default", "default", { team: "a" }],
    ]);
    expect((await s.get(items(["retries"], "g", "prod")))[0].content).toBe("3");
  });

  it("returns every item of the scope in key order when no key is given, and reads hand-written values", async () => {
    const s = await store();
    await save(s, item("b", "2"), item("a", "1"), item("x", "other group", "g2"));
    await s.save({ appId: "app2", items: [item("z", "other app")], metadata: {} });
    await redis.raw().hset("configuration|app1|default|default", "c", "plain text");
    expect((await s.get(items())).map((i) => [i.key, i.content])).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["c", "plain text"],
    ]);
  });

  it("keeps app, group and label apart even when they contain the separator", async () => {
    const s = await store({ keyPrefix: "cfg" });
    await s.save({ appId: "a|b", items: [item("k", "one", "c")], metadata: {} });
    await s.save({ appId: "a", items: [item("k", "two", "b|c")], metadata: {} });
    expect((await s.get(items(["k"], "c", "", "a|b")))[0].content).toBe("one");
    expect((await s.get(items(["k"], "b|c", "", "a")))[0].content).toBe("two");
    expect((await redis.raw().keys("cfg|*")).sort()).toEqual(["cfg|a%7Cb|c|default", "cfg|a|b%7Cc|default"]);
  });

  it("deletes the given keys only; no keys deletes nothing", async () => {
    const s = await store();
    await save(s, item("a", "1"), item("b", "2"));
    await s.delete(items([]));
    expect(await s.get(items())).toHaveLength(2);
    await s.delete(items(["a", "missing"]));
    expect((await s.get(items())).map((i) => i.key)).toEqual(["b"]);
  });

  it("refuses an item without a key", async () => {
    const s = await store();
    const error = await save(s, item("", "x")).catch((e: unknown) => e);
    expect((error as ComponentError).status).toBe("INVALID_ARGUMENT");
  });

  it("tells a subscriber the changes of the keys it watches, deletes with empty content", async () => {
    const s = await store();
    const { changes } = await watch(s, items(["a", "b"]));
    await save(s, item("a", "1"), item("unwatched", "x"));
    await save(s, item("other-scope", "x", "g"), item("a", "1", "g"));
    await save(s, item("b", "2"));
    await s.delete(items(["a", "unwatched", "never-existed"]));
    await eventually(() => changes.length === 3);
    expect(changes.map(summary)).toEqual([
      ["app1", [["a", "1", "default", "default"]]],
      ["app1", [["b", "2", "default", "default"]]],
      ["app1", [["a", "", "default", "default"]]],
    ]);
  });

  it("tells a subscriber of a whole scope every change of it, across components on the same Redis", async () => {
    const [writer, reader] = [await store(), await store()];
    const { changes } = await watch(reader, items([], "g", "l"));
    await writer.save({ appId: "app1", items: [item("x", "1", "g", "l"), item("y", "2", "g", "l")], metadata: {} });
    await writer.save({ appId: "app2", items: [item("x", "other app", "g", "l")], metadata: {} });
    await writer.delete(items(["y"], "g", "l"));
    await eventually(() => changes.length === 2);
    expect(changes.map(summary)).toEqual([
      ["app1", [["x", "1", "g", "l"], ["y", "2", "g", "l"]]],
      ["app1", [["y", "", "g", "l"]]],
    ]);
  });

  it("delivers changes in order, one at a time, even to a slow handler", async () => {
    const s = await store();
    const seen: string[] = [];
    let running = 0;
    let overlapped = false;
    await s.subscribe(items(["k"]), async (change) => {
      running++;
      overlapped ||= running > 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push(change.items[0].content);
      running--;
    });
    for (let i = 0; i < 10; i++) await save(s, item("k", String(i)));
    await eventually(() => seen.length === 10);
    expect(seen).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(overlapped).toBe(false);
  });

  it("stops delivering after close, and keeps other subscriptions of the same channel", async () => {
    const s = await store();
    const first = await watch(s, items(["k"]));
    const second = await watch(s, items(["k"]));
    await save(s, item("k", "1"));
    await eventually(() => first.changes.length === 1 && second.changes.length === 1);
    await first.subscription.close();
    await save(s, item("k", "2"));
    await eventually(() => second.changes.length === 2);
    expect(first.changes).toHaveLength(1);
    await second.subscription.close();
    // Closing the last subscription unsubscribes the channel.
    await eventually(async () => (await redis.raw().pubsub("NUMSUB", "configuration|changes|app1|default|default"))[1] === 0);
  });

  it("declares no features", async () => {
    expect([...(await store()).features]).toEqual([]);
  });
});
