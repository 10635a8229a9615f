import { create } from "@bufbuild/protobuf";
import { ComponentError, type AdapterContext, type Component } from "@ottavo/component-runtime";
import type { EtcdConfiguration } from "@ottavo/generated/components/adapters/etcd";
import type { Change, ItemsRequest } from "@ottavo/generated/components/configuration";
import { ConfigurationItemSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { eventually, startEtcd, startTcpProxy, type EtcdServer, type TcpProxy } from "@ottavo/test-support";
import { Etcd3 } from "etcd3";
import { etcdConfigurationAdapter } from "../src/etcd-configuration-store";

/**
 * The etcd configuration store beyond the conformance suite: Layotto's layout,
 * and subscriptions across a cut link, an etcd killed and restarted on its data,
 * and compaction. "Exactly once, in order" is proven with a sentinel: changes
 * arrive in revision order, so once the sentinel (written last) has arrived, any
 * duplicate or stray change would be in the log before it.
 */

let etcd: EtcdServer;
let raw: Etcd3;
const open: Component<string>[] = [];
const proxies: TcpProxy[] = [];
let prefixes = 0;
let prefix = "";

beforeAll(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
}, 30_000);
afterAll(async () => {
  raw?.close();
  await etcd?.remove();
});
beforeEach(() => {
  prefix = `/t${++prefixes}/`;
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

function context(settings: Record<string, unknown> = {}): AdapterContext {
  return { componentName: "config_etcd", appId: "app1", configDir: "/tmp", settings };
}

async function store(endpoint = etcd.endpoint, extra: Record<string, unknown> = {}): Promise<EtcdConfiguration> {
  const s = await etcdConfigurationAdapter.create({ endpoints: endpoint, keyPrefixPath: prefix, ...extra }, context());
  open.push(s);
  return s;
}

const item = (key: string, content: string, group = "", label = "", tags: Record<string, string> = {}) =>
  create(ConfigurationItemSchema, { key, content, group, label, tags });

const select = (keys: string[] = [], group = "", label = ""): ItemsRequest => ({ appId: "app1", group, label, keys, metadata: {} });

const save = (s: EtcdConfiguration, ...given: ReturnType<typeof item>[]) => s.save({ appId: "app1", items: given, metadata: {} });

/** A subscription's changes, each as its "key=content" items, in arrival order. */
async function watch(s: EtcdConfiguration, request: ItemsRequest) {
  const changes: string[][] = [];
  const subscription = await s.subscribe(request, async (change: Change) => {
    changes.push(change.items.map((i) => `${i.key}=${i.content}`));
  });
  const arrived = (entry: string) => eventually(() => changes.some((c) => c.includes(entry)), 20_000);
  return { changes, subscription, arrived };
}

/** Saves through a fresh component as soon as etcd takes it (it may still be starting). */
async function saveOnceReachable(...given: ReturnType<typeof item>[]): Promise<void> {
  const writer = await store();
  // A probe key of another app: only once it is written is the real write sent, and sent once.
  await eventually(() => writer.save({ appId: "probe", items: [item("probe", "1")], metadata: {} }).then(() => true), 20_000);
  await save(writer, ...given);
}

function statusOf(error: unknown): string {
  return error instanceof ComponentError ? error.status : `not a component error: ${String(error)}`;
}

describe("etcd configuration store", () => {
  it("keeps Layotto's layout, <prefix><appId>/<group>/<label>/<key>, with JSON items; a plain value reads back as the content", async () => {
    const s = await store();
    await save(s, item("timeout", "5s", "", "", { team: "a" }), item("retries", "3", "g", "prod"));
    expect(await raw.get(`${prefix}app1/default/default/timeout`).string()).toBe(JSON.stringify({ content: "5s", tags: { team: "a" }, metadata: {} }));
    expect(await raw.getAll().prefix(`${prefix}app1/g/prod/`).keys()).toEqual([`${prefix}app1/g/prod/retries`]);
    // As Layotto's etcd store or etcdctl writes it: the value is the content.
    await raw.put(`${prefix}app1/default/default/plain`).value("hello 😄");
    const got = await s.get(select(["plain", "timeout"]));
    expect(got.map((i) => [i.key, i.content, i.group, i.label, i.tags])).toEqual([
      ["plain", "hello 😄", "default", "default", {}],
      ["timeout", "5s", "default", "default", { team: "a" }],
    ]);
  });

  it("Layotto's config_store form (address list, timeout) is read, and the default prefix is Layotto's '/'", async () => {
    const s = await etcdConfigurationAdapter.create({}, context({ address: [etcd.endpoint], timeout: "10" }));
    open.push(s);
    await s.save({ appId: "layotto-form", items: [item("k", "v")], metadata: {} });
    expect(await raw.get("/layotto-form/default/default/k").string()).toBe(JSON.stringify({ content: "v", tags: {}, metadata: {} }));
  });

  it("refuses '/' in app id, group or label with INVALID_ARGUMENT", async () => {
    const s = await store();
    await expect(s.get(select([], "a/b"))).rejects.toMatchObject({ status: "INVALID_ARGUMENT" });
    await expect(s.save({ appId: "x/y", items: [item("k", "v")], metadata: {} })).rejects.toMatchObject({ status: "INVALID_ARGUMENT" });
    await expect(s.subscribe(select([], "", "l/1"), async () => {})).rejects.toMatchObject({ status: "INVALID_ARGUMENT" });
  });

  it("a save of many items is delivered as one change per transaction of at most 128", async () => {
    const s = await store();
    const log = await watch(s, select());
    await save(s, ...Array.from({ length: 200 }, (_, i) => item(`k${i}`, `v${i}`)));
    await log.arrived("k199=v199");
    expect(log.changes.map((c) => c.length)).toEqual([128, 72]);
    expect(await s.get(select())).toHaveLength(200);
  });

  it("resumes after a cut link: changes made meanwhile arrive once, in order, after it is restored", async () => {
    const proxy = await startTcpProxy(etcd.endpoint);
    proxies.push(proxy);
    const subscriber = await store(proxy.endpoint);
    const writer = await store();
    const all = await watch(subscriber, select());
    const onlyA = await watch(subscriber, select(["a", "end"]));
    await save(writer, item("a", "1"));
    await all.arrived("a=1");
    await onlyA.arrived("a=1");

    proxy.cut();
    await save(writer, item("a", "2"));
    await save(writer, item("b", "1"), item("c", "1"));
    await writer.delete(select(["a"]));
    await save(writer, item("c", "2"));
    // While the link is down, the subscriber's own calls fail with UNAVAILABLE.
    expect(statusOf(await subscriber.get(select(["a"])).catch((e: unknown) => e))).toBe("UNAVAILABLE");
    proxy.restore();
    await save(writer, item("end", "sentinel"));

    await all.arrived("end=sentinel");
    await onlyA.arrived("end=sentinel");
    expect(all.changes).toEqual([["a=1"], ["a=2"], ["b=1", "c=1"], ["a="], ["c=2"], ["end=sentinel"]]);
    expect(onlyA.changes).toEqual([["a=1"], ["a=2"], ["a="], ["end=sentinel"]]);
  });

  it("resumes after etcd was killed (SIGKILL) and restarted on its data: changes saved before it reconnects arrive once, in order", async () => {
    // The subscriber reaches etcd through a proxy, held cut after the restart until the changes are saved.
    const proxy = await startTcpProxy(etcd.endpoint);
    proxies.push(proxy);
    const subscriber = await store(proxy.endpoint);
    const log = await watch(subscriber, select());
    await save(subscriber, item("a", "1"));
    await log.arrived("a=1");

    await etcd.crash();
    expect(statusOf(await subscriber.save({ appId: "app1", items: [item("a", "while-down")], metadata: {} }).catch((e: unknown) => e))).toBe(
      "UNAVAILABLE",
    );
    proxy.cut();
    await etcd.restart();
    await saveOnceReachable(item("a", "2"));
    await saveOnceReachable(item("b", "1"), item("c", "1"));
    proxy.restore();
    await saveOnceReachable(item("end", "sentinel"));

    await log.arrived("end=sentinel");
    expect(log.changes).toEqual([["a=1"], ["a=2"], ["b=1", "c=1"], ["end=sentinel"]]);
    expect((await subscriber.get(select(["a"])))[0]?.content).toBe("2");
  }, 60_000);

  it("a paused etcd (SIGSTOP) fails calls with DEADLINE_EXCEEDED after requestTimeout; once it goes on, the subscription carries on", async () => {
    // The short timeout only where the DEADLINE is wanted: on a busy machine, 300 ms may not do for the rest.
    const impatient = await store(etcd.endpoint, { requestTimeout: "300ms" });
    const s = await store();
    const log = await watch(s, select(["a"]));
    await etcd.pause();
    try {
      expect(statusOf(await impatient.get(select(["a"])).catch((e: unknown) => e))).toBe("DEADLINE_EXCEEDED");
    } finally {
      etcd.resume();
    }
    await save(s, item("a", "after-pause"));
    await log.arrived("a=after-pause");
    expect(log.changes).toEqual([["a=after-pause"]]);
  });

  it("when etcd compacted the revisions a subscription missed, it receives its keys' current state, then changes again", async () => {
    const proxy = await startTcpProxy(etcd.endpoint);
    proxies.push(proxy);
    const subscriber = await store(proxy.endpoint);
    const writer = await store();
    const log = await watch(subscriber, select(["a", "b", "end"]));
    await save(writer, item("a", "1"), item("b", "1"));
    await log.arrived("a=1");

    proxy.cut();
    await save(writer, item("a", "2"));
    await save(writer, item("a", "3"));
    await writer.delete(select(["b"]));
    const now = await raw.get(`${prefix}app1/default/default/a`).exec();
    await raw.kv.compact({ revision: now.header.revision, physical: true });
    proxy.restore();

    await log.arrived("a=3");
    await save(writer, item("end", "sentinel"));
    await log.arrived("end=sentinel");
    // b was deleted in the gap: reported as a delete. "end" never existed then: not reported.
    expect(log.changes).toEqual([["a=1", "b=1"], ["a=3", "b="], ["end=sentinel"]]);
  });

  it("a whole-group subscriber learns of keys deleted in a compacted gap, as deletes, beside what was written", async () => {
    const proxy = await startTcpProxy(etcd.endpoint);
    proxies.push(proxy);
    const subscriber = await store(proxy.endpoint);
    const writer = await store();
    // Present before the subscription: known from the read it starts with.
    await save(writer, item("old", "0"));
    const log = await watch(subscriber, select());
    await save(writer, item("x", "1"), item("y", "1"));
    await log.arrived("y=1");

    proxy.cut();
    await writer.delete(select(["old", "x"]));
    await save(writer, item("z", "1"));
    await save(writer, item("y", "2"));
    // Created and deleted within the gap: no change to report.
    await save(writer, item("w", "1"));
    await writer.delete(select(["w"]));
    const now = await raw.get(`${prefix}app1/default/default/y`).exec();
    await raw.kv.compact({ revision: now.header.revision, physical: true });
    proxy.restore();

    await log.arrived("y=2");
    await save(writer, item("end", "sentinel"));
    await log.arrived("end=sentinel");
    expect(log.changes).toHaveLength(3);
    expect(log.changes[0]).toEqual(["x=1", "y=1"]);
    expect([...log.changes[1]!].sort()).toEqual(["old=", "x=", "y=2", "z=1"]);
    expect(log.changes[2]).toEqual(["end=sentinel"]);

    // The known keys follow the resync: deleting z now is delivered as a delete once.
    await writer.delete(select(["z"]));
    await save(writer, item("end", "sentinel-2"));
    await log.arrived("end=sentinel-2");
    expect(log.changes.slice(3)).toEqual([["z="], ["end=sentinel-2"]]);
  });
});
