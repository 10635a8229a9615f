/**
 * A raw @grpc/grpc-js client built at run time with @grpc/proto-loader from the
 * .proto files the published `layotto` package ships (see layotto-stub.ts):
 * unary, server-streaming, client-streaming and bidi calls on the wire as
 * Layotto defines them.
 */
import * as grpc from "@grpc/grpc-js";
import { startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { layottoStub, rejection, unary as call, type Message, type RuntimeStub } from "./layotto-stub";
import { demoConfig, demoFiles, eventually } from "./support";

type Callback = (error: grpc.ServiceError | null, response: Message) => void;

let runtime: RunningRuntime;
let stub: RuntimeStub;

beforeAll(async () => {
  runtime = await startRuntime({ config: demoConfig(), files: demoFiles });
  stub = layottoStub(runtime.apiPort);
});

afterAll(async () => {
  stub?.close();
  if (runtime) expect(await runtime.stop()).toBe(0);
});

const unary = (rpc: string, request: Message) => call(stub, rpc, request);

it("answers SayHello", async () => {
  expect(await unary("SayHello", { service_name: "quick_start_demo", name: "grpc-js" })).toEqual({
    hello: "greetings, grpc-js",
    data: null,
  });
});

it("round-trips SaveState and GetState, etag included", async () => {
  await unary("SaveState", {
    store_name: "state_demo",
    states: [{ key: "grpc-js", value: Buffer.from("raw bytes \u0000\u00ff"), metadata: { contentType: "text/plain" } }],
  });
  const got = await unary("GetState", { store_name: "state_demo", key: "grpc-js" });
  expect(Buffer.from(got.data as Buffer).toString()).toBe("raw bytes \u0000\u00ff");
  expect(got.etag).toBe("1");
});

it("carries exact error texts, with ':' and non-ASCII characters readable", async () => {
  const error = await rejection(unary("GetState", { store_name: "nöpe: 100%", key: "k" }));
  expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(error.details).toBe("state store nöpe: 100% is not found");
});

it("answers GetNextId with next_id an int64 that reads as a decimal string (jstype = JS_STRING)", async () => {
  const first = await unary("GetNextId", { store_name: "sequencer_demo", key: "grpc-js", options: { increment: "STRONG" } });
  const second = await unary("GetNextId", { store_name: "sequencer_demo", key: "grpc-js", options: { increment: "STRONG" } });
  expect(first).toEqual({ next_id: "1" });
  expect(second).toEqual({ next_id: "2" });
});

it("streams a file back with GetFile in chunks of at most 100 KiB, after a client-streaming PutFile", async () => {
  const content = Buffer.alloc(230 * 1024);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7) % 256;

  // PutFile: the first message names the file, every message carries a piece.
  await new Promise<void>((resolve, reject) => {
    const put = (stub.PutFile as (callback: Callback) => grpc.ClientWritableStream<Message>).call(stub, (error: grpc.ServiceError | null) =>
      error ? reject(error) : resolve(),
    );
    for (let at = 0; at < content.length; at += 50 * 1024) {
      put.write({ store_name: "file_demo", name: "grpc-js.bin", data: content.subarray(at, at + 50 * 1024) });
    }
    put.end();
  });

  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const get = (stub.GetFile as (request: Message) => grpc.ClientReadableStream<Message>).call(stub, {
      store_name: "file_demo",
      name: "grpc-js.bin",
    });
    get.on("data", (message: Message) => chunks.push(message.data as Buffer));
    get.on("error", reject);
    get.on("end", resolve);
  });
  const sizes = chunks.map((chunk) => chunk.length);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(100 * 1024);
  expect(sizes.length).toBeGreaterThanOrEqual(3);
  expect(Buffer.concat(chunks).equals(content)).toBe(true);
});

it("ends a GetFile stream of a missing file with NOT_FOUND", async () => {
  const error = await new Promise<grpc.ServiceError>((resolve, reject) => {
    const get = (stub.GetFile as (request: Message) => grpc.ClientReadableStream<Message>).call(stub, {
      store_name: "file_demo",
      name: "no-such-file.bin",
    });
    get.on("data", () => reject(new Error("a missing file sent data")));
    get.on("error", resolve);
    get.on("end", () => reject(new Error("the stream ended without an error")));
  });
  expect(error.code).toBe(grpc.status.NOT_FOUND);
  expect(error.details).toBe(
    "get file no-such-file.bin from file store file_demo fail, err: local file store: cannot read 'no-such-file.bin': no such file",
  );
});

it("pushes configuration changes on a bidi SubscribeConfiguration stream, one subscription per request", async () => {
  const call = (stub.SubscribeConfiguration as () => grpc.ClientDuplexStream<Message, Message>).call(stub);
  const responses: Message[] = [];
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on("error", (error: grpc.ServiceError) => resolve(error));
    call.on("end", () => resolve(undefined));
  });
  call.on("data", (message: Message) => responses.push(message));
  call.write({ store_name: "config_demo", app_id: "e2e", keys: ["grpc-a"] });
  call.write({ store_name: "config_demo", app_id: "e2e", keys: ["grpc-b"] });

  // Nothing confirms a subscription, so save until each key's change arrives.
  for (const key of ["grpc-a", "grpc-b"]) {
    let n = 0;
    await eventually(async () => {
      await unary("SaveConfiguration", { store_name: "config_demo", app_id: "e2e", items: [{ key, content: `${key}-${++n}` }] });
      expect(responses.some((response) => (response.items as Message[]).some((item) => item.key === key))).toBe(true);
    });
  }
  const response = responses.find((r) => (r.items as Message[]).some((item) => item.key === "grpc-b"))!;
  expect(response).toMatchObject({
    store_name: "config_demo",
    app_id: "e2e",
    items: [{ key: "grpc-b", content: expect.stringMatching(/^grpc-b-\d+$/), group: "default", label: "default" }],
  });

  call.end();
  // Ending our side ends the server's: the stream closes cleanly, no error.
  expect(await ended).toBeUndefined();
});
