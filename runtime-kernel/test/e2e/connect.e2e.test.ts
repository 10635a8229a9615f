/**
 * Ottavo's generated TypeScript client over Connect-ES transports (Connect JSON
 * over HTTP/1.1, gRPC over HTTP/2), and plain fetch POSTs of Connect JSON as the
 * README's curl commands send them, against the built runtime process.
 */
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createRuntimeClient } from "@ottavo/generated/client/runtime-client";
import { LockKeepAliveResponse_Status, UnlockResponse_Status } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { demoConfig, demoFiles, postConnectJson } from "./support";

let runtime: RunningRuntime;

beforeAll(async () => {
  runtime = await startRuntime({ config: demoConfig(), files: demoFiles });
});

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function connectError(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => new Error("the call succeeded; expected an error"),
    (error: unknown) => error,
  );
  if (!(outcome instanceof ConnectError)) throw outcome;
  return outcome;
}

const transports: [string, () => Transport][] = [
  [
    "Connect JSON over HTTP/1.1",
    () => createConnectTransport({ httpVersion: "1.1", baseUrl: runtime.apiUrl, useBinaryFormat: false }),
  ],
  ["gRPC over HTTP/2", () => createGrpcTransport({ baseUrl: runtime.apiUrl })],
];

describe.each(transports)("the generated client, %s", (name, transport) => {
  // One key space per transport, so both runs see fresh keys in the same runtime.
  const tag = name.startsWith("gRPC") ? "grpc" : "connect";
  const client = () => createRuntimeClient(transport());

  it("saves, reads and deletes state, with etags", async () => {
    const runtimeClient = client();
    const key = `${tag}-state`;
    await runtimeClient.saveState({ storeName: "state_demo", states: [{ key, value: encode("hi") }] });
    const first = await runtimeClient.getState({ storeName: "state_demo", key });
    expect([decode(first.data), first.etag]).toEqual(["hi", "1"]);

    const stale = await connectError(
      runtimeClient.saveState({ storeName: "state_demo", states: [{ key, value: encode("x"), etag: { value: "7" } }] }),
    );
    expect([stale.code, stale.rawMessage]).toEqual([
      Code.Aborted,
      `failed saving state in state store state_demo: etag "7" of key '${key}' is stale: the current etag is "1"; read the key again`,
    ]);

    await runtimeClient.deleteState({ storeName: "state_demo", key, etag: { value: "1" } });
    const gone = await runtimeClient.getState({ storeName: "state_demo", key });
    expect([gone.data.length, gone.etag]).toEqual([0, ""]);
  });

  it("takes, refuses and releases a lock, and keeps a lease alive", async () => {
    const runtimeClient = client();
    const resourceId = `${tag}-lock`;
    expect(await runtimeClient.tryLock({ storeName: "lock_demo", resourceId, lockOwner: "a", expire: 30 })).toMatchObject({
      success: true,
    });
    expect(await runtimeClient.tryLock({ storeName: "lock_demo", resourceId, lockOwner: "b", expire: 30 })).toMatchObject({
      success: false,
    });
    const kept = await runtimeClient.lockKeepAlive({ storeName: "lock_demo", resourceId, lockOwner: "a", expire: 30 });
    expect(kept.status).toBe(LockKeepAliveResponse_Status.SUCCESS);
    expect((await runtimeClient.unlock({ storeName: "lock_demo", resourceId, lockOwner: "b" })).status).toBe(
      UnlockResponse_Status.LOCK_BELONG_TO_OTHERS,
    );
    expect((await runtimeClient.unlock({ storeName: "lock_demo", resourceId, lockOwner: "a" })).status).toBe(
      UnlockResponse_Status.SUCCESS,
    );
    expect((await runtimeClient.unlock({ storeName: "lock_demo", resourceId, lockOwner: "a" })).status).toBe(
      UnlockResponse_Status.LOCK_UNEXIST,
    );
  });

  it("hands out sequencer ids as decimal strings", async () => {
    const runtimeClient = client();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await runtimeClient.getNextId({ storeName: "sequencer_demo", key: `${tag}-seq`, options: { increment: 1 } })).nextId);
    }
    expect(ids).toEqual(["1", "2", "3"]);
  });

  it("reports an unknown store as INVALID_ARGUMENT with Layotto's text", async () => {
    const error = await connectError(client().getState({ storeName: "nope", key: "k" }));
    expect([error.code, error.rawMessage]).toEqual([Code.InvalidArgument, "state store nope is not found"]);
  });
});

describe("Connect JSON by hand (what the README's curl sends)", () => {
  it("saves and reads state with base64 values", async () => {
    const saved = await postConnectJson(runtime.apiUrl, "SaveState", {
      storeName: "state_demo",
      states: [{ key: "curl-greeting", value: Buffer.from("hello").toString("base64") }],
    });
    expect([saved.status, saved.contentType, saved.text]).toEqual([200, "application/json", "{}"]);

    const read = await postConnectJson(runtime.apiUrl, "GetState", { storeName: "state_demo", key: "curl-greeting" });
    expect(read.status).toBe(200);
    expect(JSON.parse(read.text)).toEqual({ data: "aGVsbG8=", etag: "1" });
  });

  it("answers the sequencer's int64 as a JSON string", async () => {
    const answer = await postConnectJson(runtime.apiUrl, "GetNextId", { storeName: "sequencer_demo", key: "curl-seq" });
    expect(JSON.parse(answer.text)).toEqual({ nextId: "1" });
  });

  it("answers an error as a Connect error body with HTTP 400", async () => {
    const answer = await postConnectJson(runtime.apiUrl, "GetState", { storeName: "nope", key: "greeting" });
    expect(answer.status).toBe(400);
    expect(answer.contentType).toBe("application/json");
    expect(JSON.parse(answer.text)).toEqual({ code: "invalid_argument", message: "state store nope is not found" });
  });

  it("accepts the proto field names as well as the JSON names", async () => {
    const answer = await postConnectJson(runtime.apiUrl, "SayHello", { service_name: "quick_start_demo", name: "curl" });
    expect(JSON.parse(answer.text)).toEqual({ hello: "greetings, curl" });
  });
});
