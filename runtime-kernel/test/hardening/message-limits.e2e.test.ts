/**
 * Issue 11, findings 1, 2, 7 and 11: request size, decompression bombs, bulk,
 * transaction and metadata counts, and UTF-8 on the JSON path, against the
 * built runtime with its default limits, on every protocol.
 */
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  ExecuteStateTransactionRequestSchema,
  GetBulkStateRequestSchema,
  GetStateRequestSchema,
  SaveStateRequestSchema,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { Code, type ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createRuntimeClient } from "@ottavo/generated/client/runtime-client";
import { eventually, Pushable, rssBytes, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { demoConfig, demoFiles, postConnectJson } from "../e2e/support";
import { bulkKeysMessage, rawGrpcCall } from "./raw-grpc";

const resourceExhausted = 8;
const invalidArgument = 3;
const ok = 0;

let runtime: RunningRuntime;

beforeAll(async () => {
  runtime = await startRuntime({ config: demoConfig(), files: demoFiles });
});

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

const pid = () => runtime.process.pid!;

/** Connect JSON with a raw body and extra headers. */
async function postJson(rpc: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  const response = await fetch(`${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/${rpc}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as { code?: string; message?: string } };
}

jest.setTimeout(30_000);

describe("the receive limit (4 MiB by default)", () => {
  it("refuses a 1,500,000-key GetBulkState over gRPC with RESOURCE_EXHAUSTED, and keeps serving", async () => {
    const message = bulkKeysMessage("state_demo", 1_500_000);
    expect(message.length).toBeGreaterThan(8_000_000);
    const before = rssBytes(pid());
    const answer = await rawGrpcCall(runtime.apiPort, "GetBulkState", message);
    expect(answer.status).toBe(resourceExhausted);
    expect(rssBytes(pid()) - before).toBeLessThan(150 * 1024 * 1024);
    const hello = await postConnectJson(runtime.apiUrl, "SayHello", { serviceName: "quick_start_demo" });
    expect(hello.status).toBe(200);
  });

  it("refuses the same request as Connect JSON", async () => {
    const keys = Array.from({ length: 600_000 }, (_, i) => `k${i}`);
    const answer = await postJson("GetBulkState", JSON.stringify({ storeName: "state_demo", keys }));
    expect(answer.status).toBe(429);
    expect(answer.body.code).toBe("resource_exhausted");
  });

  it("applies after decompression: a gzip bomb over gRPC stores nothing", async () => {
    // 200 MiB of zeros: about 200 KiB gzipped.
    const value = new Uint8Array(200 * 1024 * 1024);
    const message = toBinary(SaveStateRequestSchema, create(SaveStateRequestSchema, { storeName: "state_demo", states: [{ key: "bomb", value }] }));
    const before = rssBytes(pid());
    const answer = await rawGrpcCall(runtime.apiPort, "SaveState", message, { gzip: true });
    expect(answer.status).toBe(resourceExhausted);
    expect(answer.message).toMatch(/after decompression|larger than/);
    expect(rssBytes(pid()) - before).toBeLessThan(100 * 1024 * 1024);
    const read = await postConnectJson(runtime.apiUrl, "GetState", { storeName: "state_demo", key: "bomb" });
    expect(JSON.parse(read.text)).toEqual({});
  });

  it("applies after decompression on Connect JSON (Content-Encoding: gzip)", async () => {
    const body = gzipSync(JSON.stringify({ storeName: "state_demo", states: [{ key: "bomb", value: Buffer.alloc(30e6).toString("base64") }] }));
    const answer = await postJson("SaveState", body, { "content-encoding": "gzip" });
    expect(answer.status).toBe(429);
    expect(answer.body.message).toMatch(/after decompression/);
  });

  it("lets a message just under the limit through", async () => {
    const value = new Uint8Array(4 * 1024 * 1024 - 100);
    const message = toBinary(SaveStateRequestSchema, create(SaveStateRequestSchema, { storeName: "state_demo", states: [{ key: "big", value }] }));
    expect((await rawGrpcCall(runtime.apiPort, "SaveState", message)).status).toBe(ok);
  });
});

describe("count limits", () => {
  it("refuses more than 10,000 keys in one GetBulkState", async () => {
    const keys = Array.from({ length: 10_001 }, (_, i) => `k${i}`);
    const message = toBinary(GetBulkStateRequestSchema, create(GetBulkStateRequestSchema, { storeName: "state_demo", keys }));
    const answer = await rawGrpcCall(runtime.apiPort, "GetBulkState", message);
    expect(answer.status).toBe(resourceExhausted);
    expect(answer.message).toContain("limits.maxBulkItems");
  });

  it("refuses a transaction of more than 10,000 operations", async () => {
    const operations = Array.from({ length: 10_001 }, (_, i) => ({ operationType: "upsert", request: { key: `t${i}`, value: new Uint8Array(1) } }));
    const message = toBinary(ExecuteStateTransactionRequestSchema, create(ExecuteStateTransactionRequestSchema, { storeName: "state_demo", operations }));
    const answer = await rawGrpcCall(runtime.apiPort, "ExecuteStateTransaction", message);
    expect(answer.status).toBe(resourceExhausted);
    expect(answer.message).toContain("limits.maxTransactionOperations");
  });

  it("refuses more than 1,000 metadata entries, counted over the whole request", async () => {
    const metadata = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`m${i}`, "v"]));
    const states = [{ key: "a", value: new Uint8Array(1), metadata }, { key: "b", value: new Uint8Array(1), metadata }];
    const message = toBinary(SaveStateRequestSchema, create(SaveStateRequestSchema, { storeName: "state_demo", states }));
    const answer = await rawGrpcCall(runtime.apiPort, "SaveState", message);
    expect(answer.status).toBe(resourceExhausted);
    expect(answer.message).toContain("limits.maxMetadataEntries");
    const one = toBinary(GetStateRequestSchema, create(GetStateRequestSchema, { storeName: "state_demo", key: "a", metadata }));
    expect((await rawGrpcCall(runtime.apiPort, "GetState", one)).status).toBe(ok);
  });

  it("refuses the same on Connect JSON", async () => {
    const metadata = Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`m${i}`, "v"]));
    const answer = await postJson("GetState", JSON.stringify({ storeName: "state_demo", key: "a", metadata }));
    expect(answer.status).toBe(429);
  });
});

describe("UTF-8 on the JSON path (finding 7)", () => {
  const withKeyBytes = (bytes: number[]) =>
    Buffer.concat([Buffer.from('{"storeName":"state_demo","states":[{"key":"'), Buffer.from(bytes), Buffer.from('","value":"eA=="}]}')]);

  it("refuses invalid UTF-8 with INVALID_ARGUMENT instead of folding it into U+FFFD", async () => {
    for (const bytes of [[0xff], [0xfe], [0xc3], [0xed, 0xa0, 0x80]]) {
      const answer = await postJson("SaveState", withKeyBytes(bytes));
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(/not valid UTF-8/);
    }
    const escaped = await postJson("SaveState", '{"storeName":"state_demo","states":[{"key":"\\ud800","value":"eA=="}]}');
    expect(escaped.status).toBe(400);
  });

  it("keeps U+FFFD itself a valid key of its own", async () => {
    expect((await postJson("SaveState", withKeyBytes([0xef, 0xbf, 0xbd]))).status).toBe(200);
    const got = await postJson("GetState", JSON.stringify({ storeName: "state_demo", key: "\ufffd" }));
    expect(got.body).toEqual({ data: "eA==", etag: "1" });
  });

  it("agrees with the gRPC path, which refuses invalid UTF-8 in strings too", async () => {
    const message = Buffer.from([0x0a, 0x0a, ...Buffer.from("state_demo"), 0x12, 0x01, 0xff]);
    const answer = await rawGrpcCall(runtime.apiPort, "GetState", message);
    expect(answer.status).not.toBe(ok);
    expect([invalidArgument, 13]).toContain(answer.status);
  });
});

describe("maxSubscriptionStreams", () => {
  it("refuses a stream beyond the limit with RESOURCE_EXHAUSTED and gives the place back when one closes", async () => {
    const limited = await startRuntime({
      config: `api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
limits: { maxSubscriptionStreams: 2 }
components:
  configuration:
    config_demo: { type: in-memory }
`,
    });
    const client = createRuntimeClient(createGrpcTransport({ baseUrl: limited.apiUrl }));
    const open = () => {
      const controller = new AbortController();
      const requests = new Pushable<{ storeName: string; appId: string; keys: string[] }>();
      requests.push({ storeName: "config_demo", appId: "a", keys: ["k"] });
      const stream = client.subscribeConfiguration(requests, { signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      return { first: iterator.next(), close: () => controller.abort() };
    };
    // A change to k is the sentinel: an open subscription receives it, a refused one fails.
    const change = (n: number) => client.saveConfiguration({ storeName: "config_demo", appId: "a", items: [{ key: "k", content: `v${n}` }] });
    const first = open();
    const second = open();
    const third = open();
    await expect(third.first).rejects.toMatchObject({ code: Code.ResourceExhausted });
    await eventually(async () => {
      await change(1);
      return (await Promise.race([first.first, second.first]).then(() => true));
    });
    first.close();
    await first.first.catch(() => undefined);
    const fourth = await eventually(async () => {
      const again = open();
      const refused = await Promise.race([again.first.then(() => false, (error: ConnectError) => error.code === Code.ResourceExhausted), change(2).then(() => again.first).then(() => false)]);
      if (refused) throw new Error("still refused");
      return again;
    });
    fourth.close();
    second.close();
    expect(await limited.stop()).toBe(0);
  });
});
