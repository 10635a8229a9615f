import { create } from "@bufbuild/protobuf";
import type { Change, ItemsRequest } from "@ottavo/generated/components/configuration";
import type { InMemoryConfiguration } from "@ottavo/generated/components/adapters/in-memory";
import { MetadataError } from "@ottavo/component-runtime";
import { ConfigurationItemSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { inMemoryConfigurationAdapter } from "../src/in-memory-configuration-store";
import { closer, context, eventually } from "./support";

const components = closer();
afterEach(() => components.closeAll());

async function store(metadata: Record<string, unknown> = {}): Promise<InMemoryConfiguration> {
  return components.track(await inMemoryConfigurationAdapter.create(metadata, context()));
}

const item = (key: string, content: string, group = "", label = "") =>
  create(ConfigurationItemSchema, { key, content, group, label });

const items = (keys: string[] = [], group = "", label = "", appId = "app1"): ItemsRequest => ({
  appId,
  group,
  label,
  keys,
  metadata: {},
});

const save = (s: InMemoryConfiguration, ...given: ReturnType<typeof item>[]) =>
  s.save({ appId: "app1", items: given, metadata: {} });

/** What a change says, in a form easy to compare: key, content, group, label per item. */
const summary = (change: Change) => [change.appId, change.items.map((i) => [i.key, i.content, i.group, i.label])];

describe("in-memory configuration", () => {
  it("fills blank group and label with the defaults, and reads them back either way", async () => {
    const s = await store();
    await save(s, item("timeout", "5s"), item("retries", "3", "default", "default"));
    const read = await s.get(items(["timeout", "retries", "missing"]));
    expect(read.map((i) => [i.key, i.content, i.group, i.label])).toEqual([
      ["timeout", "5s", "default", "default"],
      ["retries", "3", "default", "default"],
    ]);
    expect((await s.get(items(["timeout"], "default", "default"))).map((i) => i.content)).toEqual(["5s"]);
  });

  it("uses configured defaults for blank group and label", async () => {
    const s = await store({ defaultGroup: "g", defaultLabel: "prod" });
    await save(s, item("k", "v"));
    expect((await s.get(items(["k"], "g", "prod")))[0].content).toBe("v");
  });

  it("returns every item of the app, group and label in key order when no key is given", async () => {
    const s = await store();
    await save(s, item("b", "2"), item("a", "1"), item("c", "3"), item("x", "other group", "g2"));
    await s.save({ appId: "app2", items: [item("z", "other app")], metadata: {} });
    expect((await s.get(items())).map((i) => i.key)).toEqual(["a", "b", "c"]);
    expect((await s.get(items([], "g2"))).map((i) => i.key)).toEqual(["x"]);
  });

  it("keeps tags and metadata, and hands out copies", async () => {
    const s = await store();
    await s.save({
      appId: "app1",
      items: [create(ConfigurationItemSchema, { key: "k", content: "v", tags: { env: "prod" }, metadata: { m: "1" } })],
      metadata: {},
    });
    const [first] = await s.get(items(["k"]));
    expect(first.tags).toEqual({ env: "prod" });
    expect(first.metadata).toEqual({ m: "1" });
    first.content = "changed";
    first.tags.env = "changed";
    const [again] = await s.get(items(["k"]));
    expect([again.content, again.tags.env]).toEqual(["v", "prod"]);
  });

  it("upserts on save and deletes, deleting a missing key without error", async () => {
    const s = await store();
    await save(s, item("k", "1"));
    await save(s, item("k", "2"));
    expect((await s.get(items(["k"])))[0].content).toBe("2");
    await s.delete(items(["k", "never-there"]));
    expect(await s.get(items(["k"]))).toEqual([]);
  });

  it("deletes nothing when no key is given", async () => {
    const s = await store();
    await save(s, item("k", "1"));
    await s.delete(items());
    expect(await s.get(items(["k"]))).toHaveLength(1);
  });

  it("tells a subscriber exactly the changes of the keys it watches", async () => {
    const s = await store();
    const changes: Change[] = [];
    await s.subscribe(items(["a", "b"]), async (c) => {
      changes.push(c);
    });
    await save(s, item("a", "1"), item("other", "x"));
    await save(s, item("other", "y"));
    await save(s, item("b", "2", "default"));
    await save(s, item("a", "in another group", "g2"));
    await eventually(() => changes.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(changes.map(summary)).toEqual([
      ["app1", [["a", "1", "default", "default"]]],
      ["app1", [["b", "2", "default", "default"]]],
    ]);
  });

  it("tells a subscriber of every key of its group and label when it named none", async () => {
    const s = await store();
    const changes: Change[] = [];
    await s.subscribe(items(), async (c) => {
      changes.push(c);
    });
    await save(s, item("a", "1"), item("b", "2"), item("c", "elsewhere", "g2"));
    await eventually(() => changes.length >= 1);
    expect(changes.map(summary)).toEqual([["app1", [["a", "1", "default", "default"], ["b", "2", "default", "default"]]]]);
  });

  it("reports a deleted item with empty content", async () => {
    const s = await store();
    await save(s, item("a", "1"));
    const changes: Change[] = [];
    await s.subscribe(items(["a"]), async (c) => {
      changes.push(c);
    });
    await s.delete(items(["a", "not-there"]));
    await eventually(() => changes.length >= 1);
    expect(changes.map(summary)).toEqual([["app1", [["a", "", "default", "default"]]]]);
  });

  it("delivers one change at a time, in order, and survives a throwing handler", async () => {
    const s = await store();
    const seen: string[] = [];
    let running = 0;
    let overlapped = false;
    await s.subscribe(items(["k"]), async (c) => {
      overlapped ||= running > 0;
      running++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      seen.push(c.items[0].content);
      if (c.items[0].content === "2") throw new Error("handler failed");
    });
    const others: string[] = [];
    await s.subscribe(items(["k"]), async (c) => {
      others.push(c.items[0].content);
    });
    for (const content of ["1", "2", "3"]) await save(s, item("k", content));
    await eventually(() => seen.length === 3 && others.length === 3);
    expect(seen).toEqual(["1", "2", "3"]);
    expect(others).toEqual(["1", "2", "3"]);
    expect(overlapped).toBe(false);
    expect((await s.get(items(["k"])))[0].content).toBe("3");
  });

  it("stops delivery when the subscription is closed", async () => {
    const s = await store();
    const changes: Change[] = [];
    const subscription = await s.subscribe(items(["k"]), async (c) => {
      changes.push(c);
    });
    await save(s, item("k", "1"));
    await eventually(() => changes.length === 1);
    await subscription.close();
    await save(s, item("k", "2"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(changes).toHaveLength(1);
  });

  it("stops every subscription when the store closes", async () => {
    const s = await inMemoryConfigurationAdapter.create({}, context());
    const changes: Change[] = [];
    await s.subscribe(items(), async (c) => {
      changes.push(c);
    });
    await s.close();
    await save(s, item("k", "1"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(changes).toHaveLength(0);
  });

  it("rejects a metadata value of the wrong type, naming the field", async () => {
    const error = await inMemoryConfigurationAdapter.create({ defaultGroup: {} }, context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetadataError);
    expect((error as MetadataError).message).toContain("'defaultGroup'");
  });
});
