/**
 * The hop from one runtime to another (invoke/remote-runtime-target.ts): Connect's
 * unary protocol with binary messages over HTTP/1.1 keep-alive connections.
 * Against a real runtime: the wire contract (what the other runtime reads, its
 * answers and errors as they come back, the caller's deadline enforced there).
 * Against peers that misbehave on the raw socket: an oversized answer, a peer
 * that stalls, one that closes in the middle of an answer, answers that are not
 * Connect's; each a clear gRPC status, with no connection left open.
 */
import type * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InvokeResponseSchema, InvokeServiceRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { eventually, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import type { InvocationRequest } from "../../src/invoke/invocation";
import { wasNotSent } from "../../src/invoke/invocation-errors";
import { RemoteRuntimeTarget, type RemoteRuntimeOptions } from "../../src/invoke/remote-runtime-target";
import { layottoStub, rejection, type RuntimeStub } from "../e2e/layotto-stub";
import { expectError } from "../handlers/support";
import { closedPort, rawServer, startService, type RawRequest, type RawServer, type ServiceRequest, type TestService } from "./support";

const token = "hop-s3cret";
const text = (data: Uint8Array) => Buffer.from(data).toString("utf8");
const targets: RemoteRuntimeTarget[] = [];
const servers: RawServer[] = [];

function targetAt(port: number, options: RemoteRuntimeOptions = {}): RemoteRuntimeTarget {
  const target = new RemoteRuntimeTarget(`127.0.0.1:${port}`, "b", token, options);
  targets.push(target);
  return target;
}

function call(target: RemoteRuntimeTarget, init: Partial<InvocationRequest> = {}) {
  return target.invoke({
    id: "b",
    method: "hello",
    verb: "POST",
    query: "",
    contentType: "text/plain",
    data: Buffer.from("hi"),
    headers: [],
    signal: new AbortController().signal,
    hops: 0,
    ...init,
  });
}

async function peer(answer: (request: RawRequest, socket: net.Socket) => void): Promise<RawServer> {
  const server = await rawServer(answer);
  servers.push(server);
  return server;
}

const portOf = (server: RawServer) => Number(new URL(server.url).port);

/** A Connect unary success carrying an InvokeResponse. */
function connectOk(contentType: string, data: string, extra = ""): Buffer {
  const body = toBinary(InvokeResponseSchema, create(InvokeResponseSchema, { contentType, data: { value: Buffer.from(data) } }));
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/proto\r\n${extra}content-length: ${body.length}\r\n\r\n`, "latin1"),
    body,
  ]);
}

afterEach(async () => {
  for (const target of targets.splice(0)) target.close();
  for (const server of servers.splice(0)) await server.close();
});

describe("the hop to another runtime, against a runtime", () => {
  let app: TestService;
  let runtime: RunningRuntime;
  beforeAll(async () => {
    app = await startService((request: ServiceRequest, response) => {
      if (request.url === "/slow") return; // never answers
      if (request.url === "/teapot") {
        response.statusCode = 418;
        response.setHeader("x-why", "short and stout");
        return response.end("I am a teapot");
      }
      response.setHeader("content-type", "application/json");
      response.setHeader("x-app", "b");
      response.end(JSON.stringify({ url: request.url, method: request.method, body: request.body.toString(), caller: request.headers["x-caller"] ?? null }));
    });
    runtime = await startRuntime({
      config: `app: { id: b, httpPort: ${app.port} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
invoke: { token: ${token} }
`,
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await app?.close();
  });

  it("delivers the call to the other runtime's app and brings back its status, body, content type and headers", async () => {
    const target = targetAt(runtime.apiPort);
    const answer = await call(target, { method: "orders", verb: "PUT", query: "x=1", headers: [["x-caller", "app-a"]] });
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe("application/json");
    expect(JSON.parse(text(answer.data))).toEqual({ url: "/orders?x=1", method: "PUT", body: "hi", caller: "app-a" });
    // The app's own header comes back; the protocol's and the connection's do not.
    expect(answer.headers).toContainEqual(["x-app", "b"]);
    const names = answer.headers.map(([name]) => name);
    for (const name of ["content-type", "content-length", "connection", "keep-alive", "date", "dapr-http-status"]) expect(names).not.toContain(name);
  });

  it("brings the other runtime's error back as it answered it: code, message, details and metadata", async () => {
    const failure = await expectError(call(targetAt(runtime.apiPort), { method: "teapot" }), Code.Unknown, "I'm a Teapot");
    expect(failure.metadata.get("dapr-http-status")).toBe("418");
    expect(failure.metadata.get("x-why")).toBe("short and stout");
    expect(failure.metadata.get("content-type")).toBeNull();
    expect(failure.details).toHaveLength(1);
    expect(Buffer.from((failure.details[0] as { value: Uint8Array }).value).toString("latin1")).toContain("I am a teapot");
  });

  it("is refused without the runtimes' token (UNAUTHENTICATED from the other runtime)", async () => {
    const target = new RemoteRuntimeTarget(`127.0.0.1:${runtime.apiPort}`, "b", "wrong");
    targets.push(target);
    await expectError(call(target, { hops: 0 }), Code.Unauthenticated, /must carry this runtime's token/);
  });

  it("sends the caller's deadline: the other runtime cuts the call itself, and its app sees the request abandoned", async () => {
    const abandoned = app.abandoned.length;
    // The signal here never fires: only the other runtime knows the deadline.
    await expectError(call(targetAt(runtime.apiPort), { method: "slow", deadline: performance.now() + 300 }), Code.DeadlineExceeded, "the operation timed out");
    await eventually(() => expect(app.abandoned.length).toBe(abandoned + 1));
  });

  it("answers RESOURCE_EXHAUSTED when the other runtime refuses metadata over its header limit, and calls on", async () => {
    const target = targetAt(runtime.apiPort);
    await expectError(
      call(target, { headers: [["x-big", "x".repeat(20 * 1024)]] }),
      Code.ResourceExhausted,
      `the runtime of app 'b' at 127.0.0.1:${runtime.apiPort} refused the call's metadata as too large (HTTP 431)`,
    );
    expect((await call(target)).status).toBe(200);
  });

  it("reuses its connections: many calls in sequence, one connection", async () => {
    const target = targetAt(runtime.apiPort);
    for (let i = 0; i < 20; i++) expect((await call(target, { method: `n${i}` })).status).toBe(200);
    expect((target as unknown as { client: { connections: number } }).client.connections).toBe(1);
  });
});

describe("the hop to another runtime: the request on the wire", () => {
  it("is a Connect unary POST of InvokeService: binary message, token, one more hop, the time left, the metadata", async () => {
    const server = await peer((_request, socket) => socket.write(connectOk("text/plain", "fine")));
    const started = performance.now();
    await call(targetAt(portOf(server)), { headers: [["x-caller", "a"], ["x-caller", "again"]], hops: 0, deadline: started + 5_000, verb: "GET", query: "q=1" });
    const [request] = server.requests;
    expect(request!.method).toBe("POST");
    expect(request!.path).toBe("/spec.proto.runtime.v1.Runtime/InvokeService");
    expect(request!.headers).toMatchObject({
      "content-type": "application/proto",
      "connect-protocol-version": "1",
      "dapr-api-token": token,
      "ottavo-invoke-hops": "1",
      host: `127.0.0.1:${portOf(server)}`,
    });
    const timeout = Number(request!.headers["connect-timeout-ms"]);
    expect(timeout).toBeGreaterThan(0);
    expect(timeout).toBeLessThanOrEqual(5_000);
    const message = fromBinary(InvokeServiceRequestSchema, request!.body);
    expect([message.id, message.message?.method, message.message?.contentType, text(message.message?.data?.value ?? new Uint8Array())]).toEqual([
      "b",
      "hello",
      "text/plain",
      "hi",
    ]);
    expect(message.message?.httpExtension?.querystring).toBe("q=1");
  });

  it("has no Connect-Timeout-Ms without a deadline", async () => {
    const server = await peer((_request, socket) => socket.write(connectOk("text/plain", "fine")));
    await call(targetAt(portOf(server)));
    expect(server.requests[0]!.headers["connect-timeout-ms"]).toBeUndefined();
  });

  it("opens no more connections than its cap; calls beyond it wait and all complete", async () => {
    const server = await peer((_request, socket) => setTimeout(() => socket.write(connectOk("text/plain", "fine")), 5));
    const target = targetAt(portOf(server), { maxConnections: 2 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => call(target)));
    expect(answers.map((answer) => text(answer.data))).toEqual(Array(10).fill("fine"));
    expect(server.accepted()).toBeLessThanOrEqual(2);
  });
});

describe("the hop to another runtime: peers that misbehave", () => {
  it("answers UNAVAILABLE, not sent, when nothing listens", async () => {
    const failure = await expectError(call(targetAt(await closedPort())), Code.Unavailable, /^cannot call the runtime of app 'b' at 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    expect(wasNotSent(failure)).toBe(true);
  });

  it("answers RESOURCE_EXHAUSTED for an answer over the limit (declared or sent), closes that connection, and calls on", async () => {
    const server = await peer((request, socket) => {
      const method = fromBinary(InvokeServiceRequestSchema, request.body).message?.method;
      if (method === "declared") socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/proto\r\ncontent-length: 999999999\r\n\r\nxx");
      else if (method === "chunks") socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/proto\r\ntransfer-encoding: chunked\r\n\r\n800\r\n${"x".repeat(0x800)}\r\n`);
      else socket.write(connectOk("text/plain", "small"));
    });
    const target = targetAt(portOf(server), { maxAnswerBytes: 1024 });
    for (const method of ["declared", "chunks"]) {
      await expectError(call(target, { method }), Code.ResourceExhausted, "the runtime of app 'b' at " + `127.0.0.1:${portOf(server)} answered more than 1024 bytes`);
    }
    await eventually(() => expect(server.open()).toBe(0));
    // The sentinel: the next call answers, on a new connection.
    expect(text((await call(target)).data)).toBe("small");
    expect(server.accepted()).toBe(3);
  });

  it("a peer that stalls (before any answer, or in the middle of one): the caller's deadline ends the call and closes the connection", async () => {
    const server = await peer((request, socket) => {
      const method = fromBinary(InvokeServiceRequestSchema, request.body).message?.method;
      if (method === "half") socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/proto\r\ncontent-length: 100\r\n\r\nabc");
      else if (method !== "mute") socket.write(connectOk("text/plain", "fine"));
    });
    const target = targetAt(portOf(server));
    for (const method of ["mute", "half"]) {
      const caller = new AbortController();
      const seen = server.requests.length;
      const pending = call(target, { method, signal: caller.signal });
      await eventually(() => expect(server.requests.length).toBe(seen + 1));
      caller.abort(new ConnectError("the caller's deadline passed", Code.DeadlineExceeded));
      await expectError(pending, Code.DeadlineExceeded, "the caller's deadline passed");
      await eventually(() => expect(server.open()).toBe(0));
    }
    expect(text((await call(target)).data)).toBe("fine");
  });

  it("answers UNAVAILABLE when the peer closes in the middle of an answer, or before any", async () => {
    const server = await peer((request, socket) => {
      const method = fromBinary(InvokeServiceRequestSchema, request.body).message?.method;
      if (method === "cut") socket.end("HTTP/1.1 200 OK\r\ncontent-type: application/proto\r\ncontent-length: 100\r\n\r\nabc");
      else if (method === "gone") socket.destroy();
      else socket.write(connectOk("text/plain", "fine"));
    });
    const target = targetAt(portOf(server));
    const cut = await expectError(call(target, { method: "cut" }), Code.Unavailable, /: the connection closed before the answer was complete$/);
    expect(wasNotSent(cut)).toBe(false);
    const gone = await expectError(call(target, { method: "gone" }), Code.Unavailable, /: the connection closed before any answer$/);
    expect(wasNotSent(gone)).toBe(false);
    expect(text((await call(target)).data)).toBe("fine");
    await eventually(() => expect(server.open()).toBe(1));
  });

  it("maps answers that are not Connect's: an HTTP error page by its status, a success that is not a message INTERNAL", async () => {
    const server = await peer((request, socket) => {
      const method = fromBinary(InvokeServiceRequestSchema, request.body).message?.method;
      const page = "<html>bad gateway</html>";
      if (method === "proxy") socket.write(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: ${page.length}\r\n\r\n${page}`);
      else if (method === "html") socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${page.length}\r\n\r\n${page}`);
      else if (method === "junk") socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/proto\r\ncontent-length: 3\r\n\r\n\xff\xff\xff", "latin1");
      else if (method === "bad-json") socket.write("HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 5\r\n\r\n[1,2]");
      else socket.write(connectOk("text/plain", "fine"));
    });
    const target = targetAt(portOf(server));
    const where = `the runtime of app 'b' at 127.0.0.1:${portOf(server)}`;
    await expectError(call(target, { method: "proxy" }), Code.Unavailable, `${where} answered HTTP 502`);
    await expectError(call(target, { method: "html" }), Code.Internal, `${where} answered with content type 'text/html', not application/proto`);
    await expectError(call(target, { method: "junk" }), Code.Internal, /answered a message that does not decode/);
    await expectError(call(target, { method: "bad-json" }), Code.Unavailable, `${where} answered HTTP 503`);
    expect(text((await call(target)).data)).toBe("fine");
  });

  it("reads a Connect error's metadata from its headers and trailer- headers, without the protocol's and the connection's own", async () => {
    const json = JSON.stringify({ code: "failed_precondition", message: "not now", details: [{ type: "google.rpc.ErrorInfo", value: "CgNyZWE" }] });
    const server = await peer((_request, socket) =>
      socket.write(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: keep-alive\r\nkeep-alive: timeout=5\r\nx-one: 1\r\ntrailer-x-two: 2\r\n` +
          `content-length: ${json.length}\r\n\r\n${json}`,
      ),
    );
    const failure = await expectError(call(targetAt(portOf(server))), Code.FailedPrecondition, "not now");
    expect([...failure.metadata.entries()]).toEqual([
      ["x-one", "1"],
      ["x-two", "2"],
    ]);
    expect(failure.details).toEqual([{ type: "google.rpc.ErrorInfo", value: Uint8Array.from([10, 3, 114, 101, 97]), debug: undefined }]);
  });

  it("leaves no connection behind after 300 calls with every third one abandoned by its caller", async () => {
    const server = await peer((request, socket) => {
      if (fromBinary(InvokeServiceRequestSchema, request.body).message?.method !== "hold") socket.write(connectOk("text/plain", "fine"));
    });
    const target = targetAt(portOf(server), { maxConnections: 4 });
    for (let i = 0; i < 300; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => {
        if ((i + j) % 3 !== 0) return call(target).then((answer) => text(answer.data));
        const caller = new AbortController();
        const pending = call(target, { method: "hold", signal: caller.signal });
        setTimeout(() => caller.abort(new ConnectError("gone", Code.Canceled)), 5);
        return pending.then(
          () => "answered",
          (error: unknown) => ConnectError.from(error).code,
        );
      });
      for (const outcome of await Promise.all(batch)) expect(outcome === "fine" || outcome === Code.Canceled).toBe(true);
    }
    await eventually(() => expect(server.open()).toBeLessThanOrEqual(4));
    expect(text((await call(target)).data)).toBe("fine");
    target.close();
    await eventually(() => expect(server.open()).toBe(0));
  });
});

describe("the hop to another runtime: a misbehaving peer behind a runtime, seen by a gRPC client", () => {
  let server: RawServer;
  let runtime: RunningRuntime;
  let stub: RuntimeStub;
  beforeAll(async () => {
    server = await rawServer((request, socket) => {
      const method = fromBinary(InvokeServiceRequestSchema, request.body).message?.method;
      if (method === "huge") socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/proto\r\ncontent-length: 999999999\r\n\r\nxx");
      else if (method === "cut") socket.end("HTTP/1.1 200 OK\r\ncontent-type: application/proto\r\ncontent-length: 100\r\n\r\nabc");
      else if (method !== "stall") socket.write(connectOk("text/plain", "fine"));
    });
    runtime = await startRuntime({
      config: `app: { id: a }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  nameresolution:
    table: { type: static, apps: { b: "127.0.0.1:${portOf(server)}" } }
`,
    });
    stub = layottoStub(runtime.apiPort);
  });
  afterAll(async () => {
    stub?.close();
    await runtime?.stop();
    await server?.close();
  });

  const invoke = (method: string, deadline?: number) =>
    new Promise((resolve, reject) =>
      (stub.InvokeService as (...args: unknown[]) => void).call(
        stub,
        { id: "b", message: { method } },
        new grpc.Metadata(),
        deadline === undefined ? {} : { deadline },
        (error: unknown, response: unknown) => (error ? reject(error) : resolve(response)),
      ),
    );

  it("answers DEADLINE_EXCEEDED for a peer that stalls, RESOURCE_EXHAUSTED for an oversized answer, UNAVAILABLE for one cut short; no connection stays open", async () => {
    const stalled = await rejection(invoke("stall", Date.now() + 300));
    expect(stalled.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const where = `the runtime of app 'b' at 127.0.0.1:${portOf(server)}`;
    const huge = await rejection(invoke("huge"));
    expect([huge.code, huge.details]).toEqual([grpc.status.RESOURCE_EXHAUSTED, `${where} answered more than ${64 * 1024 * 1024 + 64 * 1024} bytes`]);
    const cut = await rejection(invoke("cut"));
    expect([cut.code, cut.details]).toEqual([grpc.status.UNAVAILABLE, `cannot call ${where}: the connection closed before the answer was complete`]);
    await eventually(() => expect(server.open()).toBe(0));
    // The sentinel: the runtime still calls the peer.
    expect(await invoke("hello")).toMatchObject({ content_type: "text/plain" });
    expect(server.open()).toBe(1);
  });
});
