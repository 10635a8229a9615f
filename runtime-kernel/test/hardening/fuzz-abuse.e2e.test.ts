/**
 * The standing fuzz and abuse suite (issue 11, deliverable 7), bounded to well
 * under a minute: mutated protobuf for every unary rpc on the gRPC fast path,
 * mutated messages and envelopes for every streaming rpc over gRPC and Connect,
 * malformed JSON and framing on Connect, a subscriber that stops reading (issue 9's
 * bounded queue), and vanished streaming clients. It asserts no crash, every
 * call answered within 5 s with a documented status, and the runtime's file
 * descriptors and memory back near their baseline.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import { create, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createRuntimeClient } from "@ottavo/generated/client/runtime-client";
import {
  GetFileRequestSchema,
  PutFileRequestSchema,
  Runtime,
  SubscribeConfigurationRequestSchema,
  SubscribeTopicEventsRequestSchema,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { eventually, openFdCount, rssBytes, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { demoConfig, demoFiles } from "../e2e/support";
import { envelope, rawGrpcCall, rawStreamCall, type StreamProtocol } from "./raw-grpc";

jest.setTimeout(60_000);

let runtime: RunningRuntime;
let baseline: { fds: number; rss: number };

beforeAll(async () => {
  runtime = await startRuntime({ config: demoConfig(), files: { ...demoFiles, "files/seed.txt": "x".repeat(300_000) } });
  // One call of each kind first, so that lazily loaded code counts in the baseline.
  await rawGrpcCall(runtime.apiPort, "SayHello", new Uint8Array());
  baseline = { fds: openFdCount(runtime.process.pid!), rss: rssBytes(runtime.process.pid!) };
});

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

/** A small deterministic generator, so that a failure reproduces with the same inputs. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A valid message of the type with every string and bytes field set, then mutated: bytes flipped, cut, grown. */
function mutations(schema: DescMessage, rand: () => number, count: number): Uint8Array[] {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (field.fieldKind === "scalar" && field.scalar === 9) init[field.localName] = "state_demo";
    if (field.fieldKind === "list" && field.listKind === "scalar" && field.scalar === 9) init[field.localName] = ["a", "b"];
    if (field.fieldKind === "map") init[field.localName] = { k: "v" };
  }
  const valid = toBinary(schema, create(schema, init));
  const out: Uint8Array[] = [valid];
  for (let i = 1; i < count; i++) {
    const bytes = Buffer.from(valid);
    const kind = i % 4;
    if (kind === 0 && bytes.length > 0) bytes[Math.floor(rand() * bytes.length)] ^= 1 << Math.floor(rand() * 8);
    if (kind === 1) out.push(bytes.subarray(0, Math.floor(rand() * bytes.length)));
    else if (kind === 2) out.push(Buffer.concat([bytes, Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 16) }, () => Math.floor(rand() * 256)))]));
    else if (kind === 3) out.push(Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))));
    else out.push(bytes);
  }
  return out;
}

/** Resolves with the call's answer, or fails the test if it takes more than 5 s. */
async function within5s<T>(what: string, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within 5 s`)), 5_000)));
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}

it("answers mutated protobuf for every unary rpc with a gRPC status, never hanging", async () => {
  const rand = random(11);
  const seen = new Set<number>();
  for (const method of Runtime.methods) {
    if (method.methodKind !== "unary") continue;
    const inputs = mutations(method.input, rand, 60);
    const answers = await Promise.all(inputs.map((input) => within5s(method.name, rawGrpcCall(runtime.apiPort, method.name, input))));
    for (const answer of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(0);
      expect(answer.status).toBeLessThanOrEqual(16);
      // Never an internal detail: parse failures say so without a stack.
      expect(answer.message).not.toMatch(/\n\s+at /);
      seen.add(answer.status);
    }
  }
  expect(seen.size).toBeGreaterThan(1);
});

it("answers malformed Connect JSON and gRPC framing with documented statuses", async () => {
  const url = (rpc: string) => `${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/${rpc}`;
  const json = async (body: string) => (await fetch(url("GetState"), { method: "POST", headers: { "content-type": "application/json" }, body })).status;
  for (const body of ["", "{", "[]", "null", '{"storeName": 5}', '{"key": "\\ud800"}', '{"metadata": {"a": 1}}', "x".repeat(10_000)]) {
    expect([400, 404]).toContain(await within5s("json", json(body)));
  }
  // gRPC frames: flag bits a client may not set (finding 11: they passed as uncompressed), and the compressed
  // bit without an encoding. The message is one the rpc answers OK with flag 0 (the sentinel).
  const hello = new Uint8Array([0x0a, 0x10, ...Buffer.from("quick_start_demo")]);
  expect((await within5s("framing", rawGrpcCall(runtime.apiPort, "SayHello", hello, { flag: 0 }))).status).toBe(0);
  for (const flag of [0x80, 0x02, 0x04]) {
    const answer = await within5s("framing", rawGrpcCall(runtime.apiPort, "SayHello", hello, { flag }));
    expect({ flag, status: answer.status, message: answer.message }).toEqual({ flag, status: 13, message: `grpc: received unexpected payload format ${flag}` });
  }
  const compressed = await within5s("framing", rawGrpcCall(runtime.apiPort, "SayHello", hello, { flag: 0x01 }));
  expect(compressed.status).toBe(13);
});

it("cuts off a subscriber that stops reading, with RESOURCE_EXHAUSTED, and memory stays flat (issue 9's bounded queue)", async () => {
  const session = http2.connect(`http://127.0.0.1:${runtime.apiPort}`, { settings: { initialWindowSize: 16_384 } });
  session.on("error", () => undefined);
  const stream = session.request({ ":method": "POST", ":path": "/spec.proto.runtime.v1.Runtime/SubscribeConfiguration", "content-type": "application/grpc", te: "trailers" });
  let status: string | undefined;
  stream.on("trailers", (trailers) => (status = String(trailers["grpc-status"])));
  stream.on("error", () => undefined);
  const subscribe = toBinary(SubscribeConfigurationRequestSchema, create(SubscribeConfigurationRequestSchema, { storeName: "config_demo", appId: "e2e", keys: ["hot"] }));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(subscribe.length, 1);
  stream.write(Buffer.concat([head, subscribe]));
  stream.pause(); // the client stops reading

  const client = createRuntimeClient(createGrpcTransport({ baseUrl: runtime.apiUrl }));
  const content = "x".repeat(10_000);
  const before = rssBytes(runtime.process.pid!);
  for (let i = 0; i < 2_500; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => client.saveConfiguration({ storeName: "config_demo", appId: "e2e", items: [{ key: "hot", content: `${i + j}${content}` }] })));
  }
  expect(rssBytes(runtime.process.pid!) - before).toBeLessThan(120 * 1024 * 1024);
  stream.resume();
  stream.on("data", () => undefined);
  await eventually(() => status !== undefined);
  expect(status).toBe("8");
  session.destroy();
});

it("lets go of streams whose clients vanished, and comes back near its baseline", async () => {
  for (let i = 0; i < 30; i++) {
    const socket = net.connect(runtime.apiPort, "127.0.0.1");
    const session = http2.connect(`http://127.0.0.1:${runtime.apiPort}`, { createConnection: () => socket });
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ":path": "/spec.proto.runtime.v1.Runtime/SubscribeConfiguration", "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => undefined);
    const subscribe = toBinary(SubscribeConfigurationRequestSchema, create(SubscribeConfigurationRequestSchema, { storeName: "config_demo", appId: "e2e", keys: ["k"] }));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(subscribe.length, 1);
    stream.write(Buffer.concat([head, subscribe]));
    await new Promise((resolve) => setImmediate(resolve));
    socket.destroy();
  }
  const pid = runtime.process.pid!;
  await eventually(() => openFdCount(pid) <= baseline.fds + 3, 15_000);
  // Memory: within 100 MB of where it started, after everything above.
  expect(rssBytes(pid) - baseline.rss).toBeLessThan(100 * 1024 * 1024);
  // Still serving.
  const hello = await rawGrpcCall(runtime.apiPort, "SayHello", new Uint8Array());
  expect(hello.status).toBe(0);
});

/** A valid request stream per streaming rpc, as encoded messages: what the stream mutations start from. */
const streamSeeds: Record<string, Uint8Array[]> = {
  SubscribeConfiguration: [
    toBinary(SubscribeConfigurationRequestSchema, create(SubscribeConfigurationRequestSchema, { storeName: "config_demo", appId: "e2e", keys: ["a", "b"], metadata: { k: "v" } })),
    toBinary(SubscribeConfigurationRequestSchema, create(SubscribeConfigurationRequestSchema, { storeName: "config_demo", appId: "e2e", keys: ["c"] })),
  ],
  SubscribeTopicEvents: [
    toBinary(SubscribeTopicEventsRequestSchema, create(SubscribeTopicEventsRequestSchema, {
      subscribeTopicEventsRequestType: { case: "initialRequest", value: { pubsubName: "pub_subs_demo", topic: "fuzz", metadata: { k: "v" } } },
    })),
    toBinary(SubscribeTopicEventsRequestSchema, create(SubscribeTopicEventsRequestSchema, {
      subscribeTopicEventsRequestType: { case: "eventProcessed", value: { id: "e-1", status: { status: 0 } } },
    })),
  ],
  GetFile: [toBinary(GetFileRequestSchema, create(GetFileRequestSchema, { storeName: "file_demo", name: "seed.txt", metadata: { k: "v" } }))],
  PutFile: [
    toBinary(PutFileRequestSchema, create(PutFileRequestSchema, { storeName: "file_demo", name: "fuzz/put.txt", data: new Uint8Array(64).fill(1), metadata: { k: "v" } })),
    toBinary(PutFileRequestSchema, create(PutFileRequestSchema, { data: new Uint8Array(64).fill(2) })),
  ],
};

/** One message changed: a bit flipped, cut short, random bytes appended, or replaced by random bytes. */
function mutate(valid: Uint8Array, rand: () => number): Uint8Array {
  const bytes = Buffer.from(valid);
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  switch (Math.floor(rand() * 4)) {
    case 0:
      if (bytes.length > 0) bytes[Math.floor(rand() * bytes.length)] ^= 1 << Math.floor(rand() * 8);
      return bytes;
    case 1:
      return bytes.subarray(0, Math.floor(rand() * bytes.length));
    case 2:
      return Buffer.concat([bytes, randomBytes(1 + Math.floor(rand() * 16))]);
    default:
      return randomBytes(Math.floor(rand() * 64));
  }
}

/**
 * The body of one mutated streaming call, by its number: mutated messages in
 * good envelopes, a good first message then mutated ones, flag bytes a client
 * may not send, an envelope longer than what follows, a stray partial envelope,
 * an envelope announcing more than the receive limit, an end-of-stream flag
 * sent by the client, and (the sentinel) the valid stream itself.
 */
function streamBody(seed: readonly Uint8Array[], n: number, rand: () => number): Buffer {
  const valid = seed.map((message) => envelope(message));
  const mutated = seed.map((message) => envelope(mutate(message, rand)));
  switch (n % 8) {
    case 0:
      return Buffer.concat(mutated);
    case 1:
      return Buffer.concat([valid[0]!, ...mutated.slice(1), envelope(mutate(seed[0]!, rand))]);
    case 2:
      return Buffer.concat([envelope(seed[0]!, [0x80, 0x04, 0x01][n % 3]), ...valid.slice(1)]);
    case 3:
      return Buffer.concat([valid[0]!, envelope(seed.at(-1)!, 0, seed.at(-1)!.length + 1 + Math.floor(rand() * 1000))]);
    case 4:
      return Buffer.concat([...valid, Buffer.from([0, 0, 0]).subarray(0, 1 + Math.floor(rand() * 3))]);
    case 5:
      return Buffer.concat([valid[0]!, envelope(new Uint8Array(16), 0, 0xffffffff)]);
    case 6:
      return Buffer.concat([envelope(seed[0]!, 0x02), ...valid.slice(1)]);
    default:
      return Buffer.concat(valid); // the sentinel: a well-formed stream is served
  }
}

/**
 * The statuses a malformed streaming call may end with (README, "Limits and
 * security"): OK when what was sent still made sense, INVALID_ARGUMENT for bad
 * values or a cut envelope, NOT_FOUND and ALREADY_EXISTS from the rpc itself,
 * RESOURCE_EXHAUSTED beyond a limit, UNIMPLEMENTED for a server-streaming call
 * without exactly one request, INTERNAL for what cannot be parsed.
 */
const streamStatuses = new Set([0, 3, 5, 6, 8, 12, 13]);

it("answers mutated requests of every streaming rpc, over gRPC and Connect, with documented statuses, and lets go of vanished ones", async () => {
  const rand = random(29);
  const pid = runtime.process.pid!;
  const before = { fds: openFdCount(pid), rss: rssBytes(pid) };
  const seen = new Map<number, number>();
  let vanished = 0;
  for (const method of Runtime.methods) {
    if (method.methodKind === "unary") continue;
    const seed = streamSeeds[method.name];
    if (seed === undefined) throw new Error(`no stream seed for ${method.name}: add one`);
    for (const protocol of ["grpc", "connect"] as StreamProtocol[]) {
      const what = `${method.name} over ${protocol}`;
      const calls = Array.from({ length: 48 }, (_, n) => {
        // Every sixth client writes its requests and vanishes.
        const vanish = n % 6 === 5;
        const call = within5s(what, rawStreamCall(runtime.apiPort, method.name, protocol, streamBody(seed, n, rand), { vanish }));
        return call.then((answer) => ({ n, answer }));
      });
      for (const { n, answer } of await Promise.all(calls)) {
        if (answer === undefined) {
          vanished++;
          continue;
        }
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        if (!streamStatuses.has(answer.status)) throw new Error(`${what}, body ${n % 8}: status ${answer.status} (${answer.message}) is not documented`);
        expect(answer.message).not.toMatch(/\n\s+at /);
        // INTERNAL says what was wrong with the request, not the parser's account of the bytes.
        if (answer.status === 13) expect(answer.message).toMatch(/^(grpc: )?(cannot parse request|received unexpected payload format \d+|received compressed envelope, but do not know how to decompress)$/);
        // A flag byte other than 0 or 1 (0x80, 0x04; 0x02, Connect's end of stream, from a client) is refused.
        if (n % 8 === 6 || (n % 8 === 2 && n % 3 !== 2)) {
          expect({ what, status: answer.status, message: answer.message }).toMatchObject({ status: 13, message: expect.stringContaining("received unexpected payload format") });
        }
        // An envelope announcing 4 GiB: beyond the receive limit, refused before it is read.
        if (n % 8 === 5) expect({ what, status: answer.status }).toEqual({ what, status: 8 });
      }
    }
  }
  expect(vanished).toBeGreaterThan(0);
  // Both ends of the range happened: calls that made sense, and calls refused as unparseable.
  expect(seen.get(0)).toBeGreaterThan(0);
  expect(seen.get(13)).toBeGreaterThan(0);
  // Every connection let go of (the vanished ones too), memory near where this test started, still serving.
  await eventually(() => openFdCount(pid) <= Math.max(before.fds, baseline.fds) + 3, 15_000);
  process.stdout.write(`streaming fuzz: ${[...seen.values()].reduce((a, b) => a + b, 0)} answered, ${vanished} vanished; fds ${before.fds} -> ${openFdCount(pid)}; RSS ${Math.round(before.rss / 1048576)} -> ${Math.round(rssBytes(pid) / 1048576)} MB\n`);
  expect(rssBytes(pid) - before.rss).toBeLessThan(64 * 1024 * 1024);
  expect((await rawGrpcCall(runtime.apiPort, "SayHello", new Uint8Array())).status).toBe(0);
});
