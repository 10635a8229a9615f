import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type ConnectRouter, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { codecs } from "@ottavo/generated/codecs/index";
import { runtimeUnaryDispatch } from "@ottavo/generated/server/unary-dispatch";
import { GetStateRequestSchema, Runtime, SayHelloRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { UnavailableError } from "@ottavo/generated/components/errors";
import { EtagInvalidError } from "@ottavo/generated/components/state";
import { eventually } from "@ottavo/test-support";
import { componentFailure } from "../../src/errors/error-mapping";
import { decodeErrorInfo } from "../invoke/support";
import { defaultServerLimits } from "../../src/config/server-limits";
import { ApiServer } from "../../src/server/api-server";
import { UnaryCallContext } from "../../src/server/grpc/unary-call-context";
import { Pipeline, type CallOutcome } from "../../src/server/pipeline";

/** What the handlers saw, for assertions about which path served and what the signal did. */
interface Observed {
  contexts: string[];
  signals: AbortSignal[];
  gate: (() => void)[];
  outcomes: string[];
}

function handlers(observed: Observed): Partial<ServiceImpl<typeof Runtime>> {
  return {
    sayHello(request, context: HandlerContext) {
      observed.contexts.push(context instanceof UnaryCallContext ? "fast" : "connect");
      if (request.name === "boom") throw new ConnectError("store x: failed: 100% broken; é", Code.FailedPrecondition);
      if (request.name === "bug") throw new TypeError("cannot read properties of undefined");
      if (request.name === "etag") throw componentFailure(new EtagInvalidError("etag \"x\" is not valid"), (detail) => `fail to save: ${detail}`);
      if (request.name === "shared") throw new UnavailableError("redis at 127.0.0.1:1 is unavailable");
      context.responseTrailer.set("x-served", "yes");
      return { hello: `hi, ${request.name}` };
    },
    async getState(request, context) {
      observed.signals.push(context.signal);
      await new Promise<void>((resolve) => observed.gate.push(resolve));
      return { data: new TextEncoder().encode(request.key), etag: "1" };
    },
  };
}

const helloPath = "/spec.proto.runtime.v1.Runtime/SayHello";
const getStatePath = "/spec.proto.runtime.v1.Runtime/GetState";

/** One gRPC frame around a message's bytes. */
function frame(body: Uint8Array, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

interface RawAnswer {
  status: string | undefined;
  message: string | undefined;
  data: Buffer;
  /** The Date header of the answer's HEADERS. */
  date: string | undefined;
}

/** A gRPC call by hand: the status from the trailers, or from the HEADERS of a trailers-only answer. */
function rawCall(
  session: http2.ClientHttp2Session,
  path: string,
  body: Buffer | undefined,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    const chunks: Buffer[] = [];
    let answer: http2.IncomingHttpHeaders | undefined;
    let date: string | undefined;
    stream.on("response", (h, flags) => {
      date = h.date;
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) answer = h;
    });
    stream.on("trailers", (h) => (answer = h));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("close", () => {
      const message = answer?.["grpc-message"] as string | undefined;
      resolve({ status: answer?.["grpc-status"] as string | undefined, message: message && decodeURIComponent(message), data: Buffer.concat(chunks), date });
    });
    stream.on("error", reject);
    if (body === undefined) stream.end();
    else stream.end(body);
  });
}

describe("the gRPC fast path", () => {
  const observed: Observed = { contexts: [], signals: [], gate: [], outcomes: [] };
  let server: ApiServer;
  let url: string;
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    const impl = handlers(observed) as ServiceImpl<typeof Runtime>;
    const pipeline = new Pipeline([
      {
        name: "recorder",
        begin: (call) => (outcome: CallOutcome) =>
          observed.outcomes.push(`${call.protocol} ${call.method} ${outcome.code === undefined ? "OK" : Code[outcome.code]}`),
      },
    ]);
    server = await ApiServer.start({
      address: { kind: "tcp", host: "127.0.0.1", port: 0 },
      routes: (router: ConnectRouter) => router.service(Runtime, impl),
      // The generated codecs, as the runtime runs them.
      fastPath: { routes: runtimeUnaryDispatch(impl), codecs },
      pipeline,
      limits: { ...defaultServerLimits, maxReceiveMessageBytes: 64 * 1024 },
    });
    if (server.address.kind !== "tcp") throw new Error("expected tcp");
    url = `http://127.0.0.1:${server.address.port}`;
    session = http2.connect(url);
  });

  afterAll(async () => {
    session.close();
    await server.shutdown(100);
  });

  beforeEach(() => {
    observed.contexts.length = 0;
    observed.outcomes.length = 0;
  });

  it("serves unary gRPC with protobuf, and leaves Connect JSON to Connect-ES, with the same pipeline on both", async () => {
    const grpc = createClient(Runtime, createGrpcTransport({ baseUrl: url }));
    const connect = createClient(Runtime, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    expect((await grpc.sayHello({ name: "grpc" })).hello).toBe("hi, grpc");
    expect((await connect.sayHello({ name: "json" })).hello).toBe("hi, json");
    expect(observed.contexts).toEqual(["fast", "connect"]);
    expect(observed.outcomes).toEqual(["grpc SayHello OK", "connect SayHello OK"]);
  });

  it("sends the handler's trailers, and errors as trailers-only answers with grpc-message encoded as gRPC decodes it", async () => {
    const ok = await rawCall(session, helloPath, frame(toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { name: "x" }))));
    expect(ok.status).toBe("0");
    const grpc = createClient(Runtime, createGrpcTransport({ baseUrl: url }));
    await expect(grpc.sayHello({ name: "boom" })).rejects.toMatchObject({
      code: Code.FailedPrecondition,
      rawMessage: "store x: failed: 100% broken; é",
    });
    await expect(grpc.sayHello({ name: "bug" })).rejects.toMatchObject({ code: Code.Internal, rawMessage: "cannot read properties of undefined" });
    expect(observed.outcomes).toEqual(["grpc SayHello OK", "grpc SayHello FailedPrecondition", "grpc SayHello Internal"]);
  });

  it("dates its answers as node:http2 would (IMF-fixdate of the current second), on success and on error", async () => {
    const hello = (name: string) => frame(toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { name })));
    const before = Math.floor(Date.now() / 1000) * 1000;
    const answers = [await rawCall(session, helloPath, hello("x")), await rawCall(session, helloPath, hello("boom"))];
    const after = Date.now();
    expect(answers.map((answer) => answer.status)).toEqual(["0", String(Code.FailedPrecondition)]);
    for (const { date } of answers) {
      expect(date).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      expect(Date.parse(date!)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(date!)).toBeLessThanOrEqual(after);
    }
  });

  it("names a component's declared error in a google.rpc.ErrorInfo detail on both paths, and adds none to other errors", async () => {
    const grpc = createClient(Runtime, createGrpcTransport({ baseUrl: url }));
    const connect = createClient(Runtime, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    const failure = (call: Promise<unknown>) => call.then(() => { throw new Error("the call succeeded"); }, (e: unknown) => ConnectError.from(e));
    const infos = (error: ConnectError) =>
      error.details.map((d) => ("type" in d ? { type: d.type, ...decodeErrorInfo(d.value) } : { type: d.desc.typeName }));
    for (const client of [grpc, connect]) {
      const declared = await failure(client.sayHello({ name: "etag" }));
      expect([Code[declared.code], declared.rawMessage]).toEqual(["InvalidArgument", 'fail to save: etag "x" is not valid']);
      expect(infos(declared)).toEqual([{ type: "google.rpc.ErrorInfo", reason: "EtagInvalid", domain: "ottavo.dev", metadata: { capability: "state" } }]);
      const shared = await failure(client.sayHello({ name: "shared" }));
      expect([Code[shared.code], shared.rawMessage]).toEqual(["Unavailable", "redis at 127.0.0.1:1 is unavailable"]);
      expect(infos(shared)).toEqual([{ type: "google.rpc.ErrorInfo", reason: "Unavailable", domain: "ottavo.dev", metadata: {} }]);
      expect(infos(await failure(client.sayHello({ name: "boom" })))).toEqual([]);
      expect(infos(await failure(client.sayHello({ name: "bug" })))).toEqual([]);
    }
    expect(observed.contexts).toEqual(["fast", "fast", "fast", "fast", "connect", "connect", "connect", "connect"]);
  });

  it("answers DEADLINE_EXCEEDED when the deadline passes mid-call, and aborts the handler's signal", async () => {
    const before = observed.signals.length;
    const request = frame(toBinary(GetStateRequestSchema, create(GetStateRequestSchema, { storeName: "s", key: "k" })));
    // No client-side timer here: the answer must come from the server's own deadline.
    const answer = await rawCall(session, getStatePath, request, { "grpc-timeout": "50m" });
    expect(answer).toMatchObject({ status: String(Code.DeadlineExceeded), message: "the call's deadline passed" });
    const signal = observed.signals[before]!;
    expect(signal.aborted).toBe(true);
    expect((signal.reason as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(observed.outcomes).toEqual(["grpc GetState DeadlineExceeded"]);
    observed.gate.splice(0).forEach((release) => release());
    await eventually(() => expect(server.inFlight).toBe(0));
    // A real client with a deadline sees the same code.
    const grpc = createClient(Runtime, createGrpcTransport({ baseUrl: url }));
    await expect(grpc.getState({ storeName: "s", key: "k" }, { timeoutMs: 50 })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    await eventually(() => expect(observed.gate.length).toBe(1));
    observed.gate.splice(0).forEach((release) => release());
    await eventually(() => expect(server.inFlight).toBe(0));
  });

  it("a stream reset by the client mid-call aborts the handler's signal and leaves no call behind", async () => {
    const before = observed.signals.length;
    const stream = session.request({ ":method": "POST", ":path": getStatePath, "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => undefined);
    stream.end(frame(toBinary(GetStateRequestSchema, create(GetStateRequestSchema, { storeName: "s", key: "k" }))));
    await eventually(() => expect(observed.signals.length).toBe(before + 1));
    expect(server.inFlight).toBe(1);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await eventually(() => expect(observed.signals[before]!.aborted).toBe(true));
    expect((observed.signals[before]!.reason as ConnectError).code).toBe(Code.Canceled);
    await eventually(() => expect(server.inFlight).toBe(0));
    expect(observed.outcomes).toEqual(["grpc GetState Canceled"]);
    observed.gate.splice(0).forEach((release) => release());
  });

  it("refuses a message over the limit from its frame header, without waiting for the rest of it", async () => {
    const answer = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": helloPath, "content-type": "application/grpc", te: "trailers" });
      stream.on("response", resolve);
      stream.on("error", reject);
      const head = Buffer.alloc(5);
      head.writeUInt32BE(10 * 1024 * 1024, 1);
      // The header claims 10 MiB; 100 bytes follow and the stream stays open.
      stream.write(Buffer.concat([head, Buffer.alloc(100)]));
    });
    expect(answer["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expect(decodeURIComponent(answer["grpc-message"] as string)).toBe("grpc: received message larger than max (10485760 vs. 65536)");
  });

  it("takes gzip requests and refuses one that inflates past the limit", async () => {
    const hello = toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { name: "zipped" }));
    const ok = await rawCall(session, helloPath, frame(gzipSync(hello), 1), { "grpc-encoding": "gzip" });
    expect(ok.status).toBe("0");
    expect(ok.data.subarray(5).toString()).toContain("hi, zipped");
    const bomb = toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { name: "x".repeat(1024 * 1024) }));
    const refused = await rawCall(session, helloPath, frame(gzipSync(bomb), 1), { "grpc-encoding": "gzip" });
    expect(refused).toMatchObject({ status: String(Code.ResourceExhausted), message: "grpc: received message after decompression larger than max (65536)" });
  });

  it.each([
    ["a flag byte of 0x80", frame(Buffer.from([10, 1, 120]), 0x80), {}, Code.Internal, "grpc: received unexpected payload format 128"],
    ["the compressed flag without an encoding", frame(Buffer.from([10, 1, 120]), 1), {}, Code.Internal, "grpc: compressed flag set with identity or empty encoding"],
    ["a body that ends inside the frame", frame(Buffer.from([10, 1, 120])).subarray(0, 6), {}, Code.Internal, "grpc: the request ended inside a message"],
    ["a bare 3-byte body", Buffer.from([0, 0, 0]), {}, Code.Internal, "grpc: the request ended inside a message"],
    ["no message at all", undefined, {}, Code.Internal, "grpc: a unary request must carry one message, it carried none"],
    ["two messages", Buffer.concat([frame(Buffer.from([10, 1, 120])), frame(Buffer.alloc(0))]), {}, Code.Internal, "grpc: a unary request must carry one message, it carried more"],
    ["bytes that are not a SayHelloRequest", frame(Buffer.from([0xff, 0xff, 0xff])), {}, Code.Internal, "grpc: cannot parse request"],
    ["an unknown encoding", frame(Buffer.from([10, 1, 120]), 1), { "grpc-encoding": "br" }, Code.Unimplemented, 'grpc: Decompressor is not installed for grpc-encoding "br"'],
    ["a malformed grpc-timeout", frame(Buffer.from([10, 1, 120])), { "grpc-timeout": "1x" }, Code.Internal, 'grpc: malformed grpc-timeout "1x"'],
  ] as const)("answers %s with a gRPC status, as grpc-go does", async (_name, body, headers, code, message) => {
    expect(await rawCall(session, helloPath, body, headers)).toMatchObject({ status: String(code), message });
  });

  it("survives 2,000 mutated requests on one connection: each gets a gRPC status, and the server still serves", async () => {
    const valid = frame(toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { serviceName: "quick_start_demo", name: "fuzz" })));
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const statuses = new Set<string>();
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, () => {
          const bytes = Buffer.from(valid.subarray(0, Math.floor(random() * (valid.length + 3))));
          for (let flips = Math.floor(random() * 4); flips > 0; flips--) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
          return rawCall(session, helloPath, bytes);
        }),
      );
      for (const answer of answers) {
        expect(answer.status).toMatch(/^\d+$/);
        statuses.add(answer.status!);
      }
    }
    expect([...statuses].every((s) => ["0", String(Code.Internal), String(Code.ResourceExhausted)].includes(s))).toBe(true);
    const grpc = createClient(Runtime, createGrpcTransport({ baseUrl: url }));
    expect((await grpc.sayHello({ name: "after" })).hello).toBe("hi, after");
  });
});
