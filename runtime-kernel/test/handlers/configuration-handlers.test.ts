import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  DeleteConfigurationRequestSchema,
  GetConfigurationRequestSchema,
  SaveConfigurationRequestSchema,
  SubscribeConfigurationRequestSchema,
  type SubscribeConfigurationRequest,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { confirmSubscriptionHeader, createConfigurationHandlers } from "../../src/handlers/configuration-handlers";
import { clientStream, contextFor, eventually, expectError, nextOf, rejection, runtimeWith } from "./support";

describe("configuration handlers", () => {
  let runtime: Awaited<ReturnType<typeof runtimeWith>>;
  const ctx = contextFor("getConfiguration");

  beforeEach(async () => {
    runtime = await runtimeWith([
      { capability: "configuration", type: "in-memory", name: "config_demo" },
      { capability: "configuration", type: "in-memory", name: "other", metadata: { defaultGroup: "g0" } },
    ]);
  });
  afterEach(() => runtime.close());

  const save = (storeName: string, items: { key: string; content: string; group?: string; label?: string }[], appId = "") =>
    runtime.groups.configuration.saveConfiguration(create(SaveConfigurationRequestSchema, { storeName, appId, items }), ctx);
  const get = (storeName: string, keys: string[], fields: { appId?: string; group?: string; label?: string } = {}) =>
    runtime.groups.configuration.getConfiguration(create(GetConfigurationRequestSchema, { storeName, keys, ...fields }), ctx);
  /** Open subscriptions of an in-memory store, to see the stream closing them. */
  const openSubscriptions = (storeName: string) =>
    (runtime.component("configuration", storeName) as unknown as { subscriptions: Set<unknown> }).subscriptions.size;

  it("saves, reads and deletes items; a blank app id is the runtime's, blank group and label the store's", async () => {
    await save("config_demo", [{ key: "timeout", content: "5s" }]);
    const read = await get("config_demo", ["timeout", "missing"], { appId: "app1", group: "default", label: "default" });
    expect((read.items ?? []).map((i) => [i.key, i.content, i.group, i.label])).toEqual([["timeout", "5s", "default", "default"]]);

    // An all-space group is blank too, as in Layotto.
    expect((await get("config_demo", ["timeout"], { group: "  " })).items).toHaveLength(1);

    await runtime.groups.configuration.deleteConfiguration(
      create(DeleteConfigurationRequestSchema, { storeName: "config_demo", keys: ["timeout"] }),
      ctx,
    );
    expect((await get("config_demo", ["timeout"])).items).toEqual([]);
  });

  it("keeps apps apart when the request names one", async () => {
    await save("config_demo", [{ key: "k", content: "mine" }]);
    await save("config_demo", [{ key: "k", content: "theirs" }], "other_app");
    expect((await get("config_demo", ["k"])).items?.[0]?.content).toBe("mine");
    expect((await get("config_demo", ["k"], { appId: "other_app" })).items?.[0]?.content).toBe("theirs");
  });

  it("answers FAILED_PRECONDITION without stores and INVALID_ARGUMENT for an unknown one", async () => {
    await expectError(get("nope", ["k"]), Code.InvalidArgument, "configure store [nope] don't support now");
    await expectError(save("nope", []), Code.InvalidArgument, "configure store [nope] don't support now");
    const bare = await runtimeWith([]);
    await expectError(
      bare.groups.configuration.getConfiguration(create(GetConfigurationRequestSchema, { storeName: "x" }), ctx),
      Code.FailedPrecondition,
      "configuration stores not configured",
    );
  });

  it("keeps a component's declared error code (an item without key is INVALID_ARGUMENT)", async () => {
    await expectError(
      save("config_demo", [{ key: "", content: "x" }]),
      Code.InvalidArgument,
      /^save configuration into store config_demo failed with error: /,
    );
  });

  describe("SubscribeConfiguration", () => {
    const summary = (items: readonly { key?: string; content?: string; group?: string }[] | undefined) =>
      (items ?? []).map((i) => [i.key, i.content, i.group]);
    const request = (fields: MessageInitShape<typeof SubscribeConfigurationRequestSchema>) =>
      create(SubscribeConfigurationRequestSchema, fields);

    it("adds one subscription per request and pushes every change until the client ends the stream", async () => {
      const client = clientStream<SubscribeConfigurationRequest>();
      const stream = runtime.groups.configuration
        .subscribeConfiguration(client.iterable, contextFor("subscribeConfiguration"))
        [Symbol.asyncIterator]();
      const first = nextOf(stream);
      client.push(request({ storeName: "config_demo", keys: ["a"] }));
      client.push(request({ storeName: "other", keys: ["b"] }));
      await eventually(() => openSubscriptions("config_demo") === 1 && openSubscriptions("other") === 1);

      await save("config_demo", [{ key: "a", content: "1" }]);
      const change = (await first).value;
      expect(change).toMatchObject({ storeName: "config_demo", appId: "app1" });
      expect(summary(change?.items)).toEqual([["a", "1", "default"]]);

      await save("other", [{ key: "b", content: "2" }]);
      const second = (await nextOf(stream)).value;
      expect(second).toMatchObject({ storeName: "other", appId: "app1" });
      expect(summary(second?.items)).toEqual([["b", "2", "g0"]]);

      client.end();
      expect((await nextOf(stream)).done).toBe(true);
      expect(openSubscriptions("config_demo")).toBe(0);
      expect(openSubscriptions("other")).toBe(0);
    });

    it("confirms each subscription with an empty response when the client asks (ottavo-confirm-subscription), and only then", async () => {
      const client = clientStream<SubscribeConfigurationRequest>();
      const context = contextFor("subscribeConfiguration", { headers: { [confirmSubscriptionHeader]: "true" } });
      const stream = runtime.groups.configuration.subscribeConfiguration(client.iterable, context)[Symbol.asyncIterator]();
      client.push(request({ storeName: "config_demo", keys: ["a"] }));
      const confirmed = (await nextOf(stream)).value;
      expect(confirmed).toMatchObject({ storeName: "config_demo", appId: "app1", items: [] });
      // Confirmed means watched: a save right after it is delivered, with no wait or retry.
      expect(openSubscriptions("config_demo")).toBe(1);
      await save("config_demo", [{ key: "a", content: "1" }]);
      expect(summary((await nextOf(stream)).value?.items)).toEqual([["a", "1", "default"]]);

      client.push(request({ storeName: "other", keys: ["b"], appId: "app2" }));
      expect((await nextOf(stream)).value).toMatchObject({ storeName: "other", appId: "app2", items: [] });
      client.end();
      expect((await nextOf(stream)).done).toBe(true);
    });

    it("closes its subscriptions when the call is cancelled", async () => {
      const client = clientStream<SubscribeConfigurationRequest>();
      const abort = new AbortController();
      const stream = runtime.groups.configuration
        .subscribeConfiguration(client.iterable, contextFor("subscribeConfiguration", { signal: abort.signal }))
        [Symbol.asyncIterator]();
      const pending = nextOf(stream);
      client.push(request({ storeName: "config_demo", keys: ["a"] }));
      await eventually(() => openSubscriptions("config_demo") === 1);
      abort.abort();
      expect((await pending).done).toBe(true);
      await eventually(() => openSubscriptions("config_demo") === 0);
    });

    it("cuts off a client that stops reading: RESOURCE_EXHAUSTED past the bound, queue dropped, subscriptions closed", async () => {
      const bounded = createConfigurationHandlers(runtime.table, 3);
      const client = clientStream<SubscribeConfigurationRequest>();
      const stream = bounded.subscribeConfiguration(client.iterable, contextFor("subscribeConfiguration"))[Symbol.asyncIterator]();
      const first = nextOf(stream);
      client.push(request({ storeName: "config_demo", keys: [] }));
      await eventually(() => openSubscriptions("config_demo") === 1);
      await save("config_demo", [{ key: "k0", content: "read" }]);
      expect(summary((await first).value?.items)).toEqual([["k0", "read", "default"]]);
      // The client reads nothing more: three changes wait, the fourth is one too many.
      for (let i = 1; i <= 4; i++) await save("config_demo", [{ key: `k${i}`, content: "unread" }]);
      const error = await rejection(nextOf(stream));
      expect(Code[error.code]).toBe("ResourceExhausted");
      expect(error.rawMessage).toMatch(/has 3 responses its client has not read \(limits\.maxQueuedStreamResponses\)/);
      await eventually(() => openSubscriptions("config_demo") === 0);
    });

    it("ends the stream with INVALID_ARGUMENT when a request names an unknown store", async () => {
      const client = clientStream<SubscribeConfigurationRequest>();
      const stream = runtime.groups.configuration
        .subscribeConfiguration(client.iterable, contextFor("subscribeConfiguration"))
        [Symbol.asyncIterator]();
      const pending = nextOf(stream);
      client.push(request({ storeName: "config_demo", keys: ["a"] }));
      client.push(request({ storeName: "nope", keys: ["a"] }));
      const error = await rejection(pending);
      expect([error.code, error.rawMessage]).toEqual([Code.InvalidArgument, "configure store [nope] don't support now"]);
      await eventually(() => openSubscriptions("config_demo") === 0);
    });
  });
});
