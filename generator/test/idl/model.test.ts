import { loadIdl, type MetadataGroup, type TypeRef } from "../../src/idl";
import { check, REDIS_CAP, STATE_CAP } from "./fixtures";
import { runtimeRegistry } from "./protos";

describe("a valid spec checks into a resolved model", () => {
  const { model, errors } = check({ "spec/components/state.cap": STATE_CAP, "spec/components/redis.cap": REDIS_CAP });
  const state = model.capabilities[0]!;
  const op = (name: string) => state.operations.find((o) => o.name === name)!;
  const message = (name: string) => state.messages.find((m) => m.name === name)!;

  test("no errors", () => {
    expect(errors).toEqual([]);
  });

  test("capability with its doc, interface name and location", () => {
    expect(model.capabilities.map((c) => c.name)).toEqual(["state"]);
    expect(state.interfaceName).toBe("StateStore");
    expect(state.doc).toBe("A state store keeps key/value items.\nKeys are strings; values are bytes.");
    expect(state.loc).toEqual({ file: "spec/components/state.cap", line: 5, column: 12 });
  });

  test("serves resolves to proto service and method, by simple or full name", () => {
    expect(state.serves.map((s) => `${s.service.typeName}/${s.method.name}`)).toEqual([
      "spec.proto.runtime.v1.Runtime/GetState",
      "spec.proto.runtime.v1.Runtime/SaveState",
    ]);
    expect(state.serves[0]!.method.kind).toBe("rpc");
  });

  test("operations in declaration order with resolved types", () => {
    expect(state.operations.map((o) => o.name)).toEqual(["get", "set", "bulkGet", "bulkSet", "transact", "put", "read", "subscribe"]);
    const get = op("get");
    expect(get.doc).toBe("Reads one item.");
    expect(get.params[0]!.type).toEqual({ kind: "message", decl: message("GetRequest") });
    expect(get.returns).toEqual({ kind: "message", decl: message("GetResponse") });
    expect(op("set").returns).toBeUndefined();
    expect(op("bulkGet").returns).toEqual({ kind: "list", element: { kind: "message", decl: message("GetResponse") } });
    expect(op("put").params[1]!.type).toEqual({ kind: "stream", element: { kind: "scalar", name: "bytes" } });
    expect(op("read").returns).toEqual({ kind: "stream", element: { kind: "scalar", name: "bytes" } });
    expect(op("subscribe").returns).toEqual({ kind: "subscription" });
    const handler = op("subscribe").params[1]!.type;
    expect(handler.kind === "callback" && handler.decl).toBe(state.callbacks[0]);
    const options = op("transact").params[1]!.type;
    expect(options.kind === "protoMessage" && options.desc.typeName).toBe("spec.proto.runtime.v1.StateOptions");
  });

  test("features unlock operations both ways; the rest are core", () => {
    expect(state.features.map((f) => [f.name, f.unlocks.map((o) => o.name)])).toEqual([
      ["ETAG", []],
      ["BULK", ["bulkGet", "bulkSet"]],
      ["TRANSACTIONAL", ["transact"]],
    ]);
    expect(state.features[0]!.doc).toBe("Items carry a version.");
    expect(op("bulkGet").unlockedBy).toBe(state.features[1]);
    expect(op("transact").unlockedBy).toBe(state.features[2]);
    expect(state.operations.filter((o) => !o.unlockedBy).map((o) => o.name)).toEqual(["get", "set", "put", "read", "subscribe"]);
  });

  test("errors carry their status", () => {
    expect(state.errors).toEqual([
      { name: "EtagMismatch", doc: "The etag given does not match the stored one.", loc: { file: "spec/components/state.cap", line: 25, column: 9 }, status: "ABORTED" },
    ]);
  });

  test("message fields: docs, optional, maps, local and proto enums, self reference", () => {
    const fields = message("GetRequest").fields;
    expect(fields.map((f) => [f.name, f.optional])).toEqual([
      ["key", false],
      ["etag", true],
      ["metadata", false],
      ["options", false],
      ["consistency", false],
      ["protoConsistency", false],
    ]);
    expect(fields[0]!.doc).toBe("The key.");
    expect(fields[2]!.type).toEqual({ kind: "map", key: { kind: "scalar", name: "string" }, value: { kind: "scalar", name: "string" } });
    expect(fields[4]!.type).toEqual({ kind: "enum", decl: state.enums[0] });
    const protoEnum: TypeRef = fields[5]!.type;
    expect(protoEnum.kind === "protoEnum" && protoEnum.desc.typeName).toBe("spec.proto.runtime.v1.StateConsistency");
    const children = message("SetRequest").fields[3]!;
    expect(children.doc).toBe("Messages may refer to themselves.");
    expect(children.type).toEqual({ kind: "list", element: { kind: "message", decl: message("SetRequest") } });
    expect(message("SetRequest").fields[2]!.type).toEqual({ kind: "scalar", name: "timestamp" });
  });

  test("enums and callbacks", () => {
    expect(state.enums[0]!.values.map((v) => [v.name, v.doc])).toEqual([
      ["EVENTUAL", "Reads may be stale."],
      ["STRONG", ""],
    ]);
    const cb = state.callbacks[0]!;
    expect(cb.name).toBe("MessageHandler");
    expect(cb.doc).toBe("Called for each delivered message.");
    expect(cb.params[0]!.type).toEqual({ kind: "message", decl: message("TopicMessage") });
    expect(cb.returns).toEqual({ kind: "enum", decl: state.enums[1] });
  });

  test("adapters sorted by type, with features and metadata", () => {
    expect(model.adapters.map((a) => a.type)).toEqual(["in-memory", "redis"]);
    const memory = model.adapters[0]!;
    expect(memory.capability).toBe(state);
    expect(memory.doc).toBe("Keeps everything in process memory.");
    expect(memory.features).toEqual(state.features);
    expect(memory.metadata).toEqual([
      {
        name: "ttlInSeconds",
        type: "int",
        default: -1,
        required: false,
        sensitive: false,
        aliases: [],
        excludes: [],
        deprecated: [],
        doc: "Seconds an item lives; -1 keeps it forever.",
        loc: { file: "spec/components/state.cap", line: 65, column: 5 },
      },
    ]);
  });

  test("includes are spliced in place, nested includes too, keeping where each field is declared", () => {
    const redis = model.adapters[1]!;
    expect(redis.features.map((f) => f.name)).toEqual(["ETAG"]);
    expect(redis.metadata.map((f) => [f.name, f.type, f.default])).toEqual([
      ["redisHost", "string", "localhost:6379"],
      ["redisPassword", "string", undefined],
      ["redisDB", "int", 0],
      ["enableTLS", "bool", false],
      ["dialTimeout", "duration", "5s"],
      ["poolSize", "int", 10],
      ["idleRatio", "number", 0.5],
      ["appId", "string", undefined],
      ["ttlInSeconds", "int", undefined],
    ]);
    const [host, password] = redis.metadata;
    expect(host).toMatchObject({ doc: "The server as host:port.", aliases: ["host"], loc: { file: "spec/components/redis.cap", line: 4, column: 3 } });
    expect(password).toMatchObject({ sensitive: true, required: false, aliases: ["password"] });
    expect(redis.metadata.find((f) => f.name === "appId")).toMatchObject({ required: true, sensitive: false });
  });

  test("metadata groups keep their structure: sorted by name, items in declaration order, the same field objects", () => {
    expect(model.metadataGroups.map((g) => g.name)).toEqual(["RedisConnection", "RedisPool"]);
    const [connection, pool] = model.metadataGroups as [MetadataGroup, MetadataGroup];
    expect(connection.doc).toBe("Shared connection settings.");
    expect(connection.loc).toEqual({ file: "spec/components/redis.cap", line: 2, column: 10 });
    expect(connection.items.map((i) => (i.kind === "include" ? `include ${i.group.name}` : i.field.name))).toEqual([
      "redisHost",
      "redisPassword",
      "redisDB",
      "enableTLS",
      "dialTimeout",
      "include RedisPool",
      "appId",
    ]);
    expect(connection.items[5]).toEqual({ kind: "include", group: pool });
    expect((connection.items[5] as { group: MetadataGroup }).group).toBe(pool);
    expect(pool.fields.map((f) => f.name)).toEqual(["poolSize", "idleRatio"]);
    expect(connection.fields.map((f) => f.name)).toEqual(["redisHost", "redisPassword", "redisDB", "enableTLS", "dialTimeout", "poolSize", "idleRatio", "appId"]);
    expect(connection.fields[5]).toBe(pool.fields[0]);

    const redis = model.adapters[1]!;
    expect(redis.metadataItems).toHaveLength(2);
    const [include, own] = redis.metadataItems;
    expect(include!.kind === "include" && include!.group).toBe(connection);
    expect(own!.kind === "field" && own!.field).toBe(redis.metadata[8]);
    redis.metadata.slice(0, 8).forEach((field, i) => expect(field).toBe(connection.fields[i]));
    expect(model.adapters[0]!.metadataItems).toEqual([{ kind: "field", field: model.adapters[0]!.metadata[0] }]);
  });

  test("the model does not depend on file order", () => {
    const reversed = check({ "spec/components/redis.cap": REDIS_CAP, "spec/components/state.cap": STATE_CAP });
    expect(reversed.errors).toEqual([]);
    expect(reversed.model.adapters.map((a) => a.metadata.map((f) => f.name))).toEqual(model.adapters.map((a) => a.metadata.map((f) => f.name)));
  });

  test("loadIdl parses, checks and returns the model", () => {
    const loaded = loadIdl(
      [
        { file: "spec/components/state.cap", text: STATE_CAP },
        { file: "spec/components/redis.cap", text: REDIS_CAP },
      ],
      runtimeRegistry(),
    );
    expect(loaded.capabilities.map((c) => c.name)).toEqual(["state"]);
    expect(loaded.adapters).toHaveLength(2);
  });
});
