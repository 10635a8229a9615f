/**
 * Every error path a client can reach, over the wire, with its exact gRPC status
 * and message (through a grpc-js client of Layotto's own protos, as Layotto SDK
 * users see them), then garbage input over Connect and gRPC; after all of it the
 * runtime still serves and reports ready.
 */
import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import { freePort, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { layottoStub, rejection, unary, type Message, type RuntimeStub } from "./layotto-stub";
import { actuator, demoConfig, demoFiles, postConnectJson } from "./support";

const { status } = grpc;

let full: RunningRuntime;
let helloOnly: RunningRuntime;
let fullStub: RuntimeStub;
let helloOnlyStub: RuntimeStub;

/** A loopback port where nothing listens: bound, read and released. */
let closedPort: number;

beforeAll(async () => {
  closedPort = await freePort();
  [full, helloOnly] = await Promise.all([
    startRuntime({ config: demoConfig({ bindingUrl: `http://127.0.0.1:${closedPort}` }), files: demoFiles }),
    startRuntime({
      config: `app: { id: e2e }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  hello:
    quick_start_demo: { type: helloworld, metadata: { hello: greetings } }
`,
    }),
  ]);
  fullStub = layottoStub(full.apiPort);
  helloOnlyStub = layottoStub(helloOnly.apiPort);
});

afterAll(async () => {
  fullStub?.close();
  helloOnlyStub?.close();
  const codes = await Promise.all([full?.stop(), helloOnly?.stop()]);
  expect(codes).toEqual([0, 0]);
});

type Case = [rpc: string, request: Message, code: grpc.status, message: string];

/** The FileRequest that ListFile, DelFile and GetFileMeta wrap. */
const file = (storeName: string, name = "x") => ({ request: { store_name: storeName, name } });

describe("a kind with no component configured: FAILED_PRECONDITION", () => {
  const cases: Case[] = [
    ["GetState", { store_name: "state_demo", key: "k" }, status.FAILED_PRECONDITION, "state store is not configured"],
    ["SaveState", { store_name: "state_demo", states: [{ key: "k" }] }, status.FAILED_PRECONDITION, "state store is not configured"],
    [
      "TryLock",
      { store_name: "lock_demo", resource_id: "r", lock_owner: "o", expire: 1 },
      status.FAILED_PRECONDITION,
      "lock store is not configured",
    ],
    ["GetNextId", { store_name: "sequencer_demo", key: "k" }, status.FAILED_PRECONDITION, "Sequencer store is not configured"],
    [
      "GetConfiguration",
      { store_name: "config_demo", keys: ["k"] },
      status.FAILED_PRECONDITION,
      "configuration stores not configured",
    ],
    ["PublishEvent", { pubsub_name: "pub_subs_demo", topic: "t" }, status.FAILED_PRECONDITION, "no pubsub is configured"],
    ["InvokeBinding", { name: "http", operation: "get" }, status.FAILED_PRECONDITION, "output binding is not configured"],
    [
      "GetSecret",
      { store_name: "secret_demo", key: "k" },
      status.FAILED_PRECONDITION,
      "error when get secret but not find configured",
    ],
  ];

  it.each(cases)("%s %j", async (rpc, request, code, message) => {
    const error = await rejection(unary(helloOnlyStub, rpc, request));
    expect({ code: error.code, details: error.details }).toEqual({ code, details: message });
  });
});

describe("an unknown component name: INVALID_ARGUMENT with Layotto's text", () => {
  const cases: Case[] = [
    ["GetState", { store_name: "nope", key: "k" }, status.INVALID_ARGUMENT, "state store nope is not found"],
    ["TryLock", { store_name: "nope", resource_id: "r", lock_owner: "o", expire: 1 }, status.INVALID_ARGUMENT, "lock store nope not found"],
    ["Unlock", { store_name: "nope", resource_id: "r", lock_owner: "o" }, status.INVALID_ARGUMENT, "lock store nope not found"],
    ["GetNextId", { store_name: "nope", key: "k" }, status.INVALID_ARGUMENT, "Sequencer store nope not found"],
    ["GetConfiguration", { store_name: "nope", keys: ["k"] }, status.INVALID_ARGUMENT, "configure store [nope] don't support now"],
    ["PublishEvent", { pubsub_name: "nope", topic: "t" }, status.INVALID_ARGUMENT, "pubsub nope not found"],
    ["GetFileMeta", file("nope"), status.INVALID_ARGUMENT, "not support store type: nope"],
    [
      "InvokeBinding",
      { name: "nope", operation: "get" },
      status.INVALID_ARGUMENT,
      "error when invoke output binding nope: couldn't find output binding nope",
    ],
    ["GetSecret", { store_name: "nope", key: "k" }, status.INVALID_ARGUMENT, "error when get secret but not find : nope"],
    ["GetBulkSecret", { store_name: "nope" }, status.INVALID_ARGUMENT, "error when get secret but not find : nope"],
  ];

  it.each(cases)("%s %j", async (rpc, request, code, message) => {
    const error = await rejection(unary(fullStub, rpc, request));
    expect({ code: error.code, details: error.details }).toEqual({ code, details: message });
  });
});

describe("a file rpc naming no file store: INVALID_ARGUMENT even when none is configured, as Layotto", () => {
  it.each([
    ["GetFileMeta", file("file_demo"), status.INVALID_ARGUMENT, "not support store type: file_demo"],
    ["ListFile", file("file_demo"), status.INVALID_ARGUMENT, "not support store type: file_demo"],
    ["DelFile", file("file_demo"), status.INVALID_ARGUMENT, "not support store type: file_demo"],
  ] as Case[])("%s %j", async (rpc, request, code, message) => {
    const error = await rejection(unary(helloOnlyStub, rpc, request));
    expect({ code: error.code, details: error.details }).toEqual({ code, details: message });
  });
});

describe("missing or invalid fields: INVALID_ARGUMENT", () => {
  const lock = { store_name: "lock_demo", resource_id: "r", lock_owner: "o", expire: 10 };
  const cases: Case[] = [
    ["GetState", { store_name: "state_demo", key: "" }, status.INVALID_ARGUMENT, "key is empty in state store state_demo"],
    ["TryLock", { ...lock, resource_id: "" }, status.INVALID_ARGUMENT, "ResourceId is empty in lock store lock_demo"],
    ["TryLock", { ...lock, lock_owner: "" }, status.INVALID_ARGUMENT, "LockOwner is empty in lock store lock_demo"],
    ["TryLock", { ...lock, expire: 0 }, status.INVALID_ARGUMENT, "Expire is not positive in lock store lock_demo"],
    ["TryLock", { ...lock, expire: -5 }, status.INVALID_ARGUMENT, "Expire is not positive in lock store lock_demo"],
    ["Unlock", { ...lock, resource_id: "" }, status.INVALID_ARGUMENT, "ResourceId is empty in lock store lock_demo"],
    ["GetNextId", { store_name: "sequencer_demo", key: "" }, status.INVALID_ARGUMENT, "Key is empty in sequencer store sequencer_demo"],
    ["PublishEvent", { pubsub_name: "pub_subs_demo", topic: "" }, status.INVALID_ARGUMENT, "topic is empty in pubsub pub_subs_demo"],
    [
      // Layotto's camelCase field names in this message, as its proto has them.
      "ExecuteStateTransaction",
      { storeName: "state_demo", operations: [{ operationType: "merge", request: { key: "k" } }] },
      status.INVALID_ARGUMENT,
      "operation type merge not supported",
    ],
    [
      "SaveState",
      { store_name: "state_demo", states: [{ key: "k", value: Buffer.from("v"), etag: { value: "not-a-version" } }] },
      status.INVALID_ARGUMENT,
      `failed saving state in state store state_demo: etag "not-a-version" of key 'k' is not valid: this store's etags are decimal versions such as "1"`,
    ],
  ];

  it.each(cases)("%s %j", async (rpc, request, code, message) => {
    const error = await rejection(unary(fullStub, rpc, request));
    expect({ code: error.code, details: error.details }).toEqual({ code, details: message });
  });
});

describe("failures of the operation itself", () => {
  it("a stale etag is ABORTED, on save, delete and in a transaction (which then changes nothing)", async () => {
    await unary(fullStub, "SaveState", { store_name: "state_demo", states: [{ key: "etag-key", value: Buffer.from("v1") }] });
    const stale = { value: "9" };

    const save = await rejection(
      unary(fullStub, "SaveState", { store_name: "state_demo", states: [{ key: "etag-key", value: Buffer.from("v2"), etag: stale }] }),
    );
    expect({ code: save.code, details: save.details }).toEqual({
      code: status.ABORTED,
      details: `failed saving state in state store state_demo: etag "9" of key 'etag-key' is stale: the current etag is "1"; read the key again`,
    });

    const remove = await rejection(unary(fullStub, "DeleteState", { store_name: "state_demo", key: "etag-key", etag: stale }));
    expect({ code: remove.code, details: remove.details }).toEqual({
      code: status.ABORTED,
      details: `failed deleting state with key etag-key: etag "9" of key 'etag-key' is stale: the current etag is "1"; read the key again`,
    });

    const transaction = await rejection(
      unary(fullStub, "ExecuteStateTransaction", {
        storeName: "state_demo",
        operations: [
          { operationType: "upsert", request: { key: "etag-other", value: Buffer.from("new") } },
          { operationType: "upsert", request: { key: "etag-key", value: Buffer.from("v2"), etag: stale } },
        ],
      }),
    );
    expect(transaction.code).toBe(status.ABORTED);
    expect(transaction.details).toMatch(/^error while executing state transaction: .*etag "9" of key 'etag-key' is stale/);
    // All or nothing: the first operation did not land either.
    expect(await unary(fullStub, "GetState", { store_name: "state_demo", key: "etag-other" })).toMatchObject({ etag: "" });
  });

  it("a missing file is NOT_FOUND", async () => {
    const meta = await rejection(unary(fullStub, "GetFileMeta", file("file_demo", "missing.txt")));
    expect({ code: meta.code, details: meta.details }).toEqual({
      code: status.NOT_FOUND,
      details: "get meta of file missing.txt in file store file_demo fail, err: local file store: cannot stat 'missing.txt': no such file",
    });
    const removed = await rejection(unary(fullStub, "DelFile", file("file_demo", "missing.txt")));
    expect({ code: removed.code, details: removed.details }).toEqual({
      code: status.NOT_FOUND,
      details: "delete file missing.txt in file store file_demo fail, err: local file store: cannot delete 'missing.txt': no such file",
    });
  });

  it("a missing secret is NOT_FOUND", async () => {
    const error = await rejection(unary(fullStub, "GetSecret", { store_name: "secret_demo", key: "nope" }));
    expect({ code: error.code, details: error.details }).toEqual({
      code: status.NOT_FOUND,
      details: "error when get secret : secret name => nope,store name =>secret_demo,error => secret 'nope' is not in secrets.json",
    });
  });

  it("InvokeService to an id nothing is configured for is NOT_FOUND, saying what to configure", async () => {
    const error = await rejection(unary(fullStub, "InvokeService", { id: "other-app", message: { method: "hello" } }));
    expect({ code: error.code, details: error.details }).toEqual({
      code: status.NOT_FOUND,
      details:
        "no invocation target 'other-app': configure it under invoke.targets (Ottavo YAML) or grpc_config.rpcs (Layotto), or add a nameresolution component",
    });
  });

  it("InvokeService without an id is INVALID_ARGUMENT", async () => {
    const error = await rejection(unary(fullStub, "InvokeService", { message: { method: "hello" } }));
    expect({ code: error.code, details: error.details }).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "InvokeService: id is required (the app, service or function to call)",
    });
  });

  it("a binding backend that does not answer is UNAVAILABLE", async () => {
    const error = await rejection(unary(fullStub, "InvokeBinding", { name: "http", operation: "get" }));
    expect({ code: error.code, details: error.details }).toEqual({
      code: status.UNAVAILABLE,
      details: `error when invoke output binding http: http binding: GET http://127.0.0.1:${closedPort} failed: the connection was refused (connect ECONNREFUSED 127.0.0.1:${closedPort})`,
    });
  });
});

describe("garbage input", () => {
  it("a Connect JSON body that is not JSON is invalid_argument (HTTP 400)", async () => {
    const answer = await postConnectJson(full.apiUrl, "GetState", "{ not json");
    expect(answer.status).toBe(400);
    const body = JSON.parse(answer.text) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toMatch(/^cannot decode message spec\.proto\.runtime\.v1\.GetStateRequest from JSON: /);
  });

  it("a field of the wrong JSON type is invalid_argument naming the field", async () => {
    const answer = await postConnectJson(full.apiUrl, "GetState", { storeName: 5, key: "k" });
    expect([answer.status, JSON.parse(answer.text)]).toEqual([
      400,
      {
        code: "invalid_argument",
        message: "cannot decode field spec.proto.runtime.v1.GetStateRequest.store_name from JSON: expected string, got 5",
      },
    ]);
  });

  it("an unknown rpc is HTTP 404 over Connect, and UNIMPLEMENTED for a gRPC client", async () => {
    expect((await postConnectJson(full.apiUrl, "NoSuchRpc", {})).status).toBe(404);
    const other = await fetch(`${full.apiUrl}/some.other.Service/Method`, { method: "POST", body: "{}" });
    expect(other.status).toBe(404);

    const error = await new Promise<grpc.ServiceError>((resolve, reject) =>
      fullStub.makeUnaryRequest(
        "/spec.proto.runtime.v1.Runtime/NoSuchRpc",
        (value: Buffer) => value,
        (value: Buffer) => value,
        Buffer.alloc(0),
        (err) => (err ? resolve(err) : reject(new Error("an unknown rpc succeeded"))),
      ),
    );
    expect(error.code).toBe(status.UNIMPLEMENTED);
  });

  it("a gRPC request whose protobuf bytes do not parse is INTERNAL without internals, as grpc-go answers", async () => {
    const session = http2.connect(full.apiUrl);
    try {
      const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/spec.proto.runtime.v1.Runtime/GetState",
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("trailers", resolve);
        // gRPC's trailers-only response: the status comes in the one HEADERS frame, which ends the stream.
        stream.on("response", (headers, flags) => {
          if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) resolve(headers);
        });
        stream.on("error", reject);
        stream.resume();
        // One uncompressed frame of 3 bytes that are not a GetStateRequest.
        stream.end(Buffer.from([0, 0, 0, 0, 3, 0xff, 0xff, 0xff]));
      });
      expect(trailers["grpc-status"]).toBe(String(status.INTERNAL));
      expect(trailers["grpc-message"]).toBe("grpc: cannot parse request");
    } finally {
      session.close();
    }
  });

  it("a wrong content type is HTTP 415 and a GET of a non-idempotent rpc 405", async () => {
    const plain = await fetch(`${full.apiUrl}/spec.proto.runtime.v1.Runtime/SayHello`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
    });
    expect(plain.status).toBe(415);
    expect((await fetch(`${full.apiUrl}/spec.proto.runtime.v1.Runtime/SayHello`)).status).toBe(405);
  });
});

describe("afterwards", () => {
  it("both runtimes still serve, report ready and logged no internal error", async () => {
    for (const [runtime, stub] of [
      [full, fullStub],
      [helloOnly, helloOnlyStub],
    ] as const) {
      expect(await unary(stub, "SayHello", { service_name: "quick_start_demo" })).toMatchObject({ hello: "greetings" });
      expect(await actuator(runtime.actuatorUrl, "/actuator/health/readiness")).toMatchObject({
        status: 200,
        body: { status: "UP" },
      });
      expect(runtime.stderr()).toBe("");
    }
  });
});
