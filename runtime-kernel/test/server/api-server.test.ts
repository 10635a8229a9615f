import { eventually } from "@ottavo/test-support";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { lstatSync, mkdtempSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Code, createClient, type ConnectRouter } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { ApiServer } from "../../src/server/api-server";

const sayHelloPath = "/spec.proto.runtime.v1.Runtime/SayHello";

/** Holds GetState calls until the test releases them. */
interface Gate {
  waiting: (() => void)[];
}

/** A trivial router: SayHello answers at once, GetState waits until released, SubscribeConfiguration runs until its signal aborts. */
function trivialRoutes(gate: Gate) {
  return (router: ConnectRouter) =>
    router.service(Runtime, {
      sayHello: async (request) => {
        if (request.name === "boom") throw new Error("handler bug");
        return { hello: `hi, ${request.name}` };
      },
      getState: async (request) => {
        await new Promise<void>((resolve) => gate.waiting.push(resolve));
        return { data: new TextEncoder().encode(`value of ${request.key}`), etag: "1" };
      },
      async *subscribeConfiguration(_requests, context) {
        await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
        throw context.signal.reason;
      },
    });
}

function baseUrl(server: ApiServer): string {
  if (server.address.kind !== "tcp") throw new Error("expected tcp");
  return `http://127.0.0.1:${server.address.port}`;
}

function h2Request(session: http2.ClientHttp2Session, urlPath: string, body: string, headers: http2.OutgoingHttpHeaders = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": urlPath, "content-type": "application/json", ...headers });
    let status = 0;
    let text = "";
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
    stream.on("end", () => resolve({ status, body: text }));
    stream.on("error", reject);
    stream.end(body);
  });
}

describe("the API server: every protocol on one cleartext port", () => {
  const gate: Gate = { waiting: [] };
  let server: ApiServer;

  beforeAll(async () => {
    server = await ApiServer.start({ address: { kind: "tcp", host: "127.0.0.1", port: 0 }, routes: trivialRoutes(gate) });
  });

  afterAll(() => server.shutdown(100));

  it("reports the port it bound when asked for port 0", () => {
    expect(server.address).toEqual({ kind: "tcp", host: "127.0.0.1", port: expect.any(Number) });
    expect(server.address.kind === "tcp" && server.address.port).toBeGreaterThan(0);
  });

  it("serves Connect JSON over HTTP/1.1 (plain fetch, as curl does)", async () => {
    const response = await fetch(baseUrl(server) + sayHelloPath, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ service_name: "quick_start_demo", name: "fetch" }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ hello: "hi, fetch" });
  });

  it("serves a large HTTP/1.1 body arriving in many chunks after the sniffed bytes", async () => {
    const name = "x".repeat(1_000_000);
    const response = await fetch(baseUrl(server) + sayHelloPath, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    expect(((await response.json()) as { hello: string }).hello).toHaveLength(name.length + 4);
  });

  it("serves Connect JSON over HTTP/2 with prior knowledge, several calls on one connection", async () => {
    const session = http2.connect(baseUrl(server));
    try {
      const first = await h2Request(session, sayHelloPath, JSON.stringify({ name: "h2" }));
      expect(first).toEqual({ status: 200, body: '{"hello":"hi, h2"}' });
      const more = await Promise.all(["a", "b", "c"].map((name) => h2Request(session, sayHelloPath, JSON.stringify({ name }))));
      expect(more.map((r) => JSON.parse(r.body).hello)).toEqual(["hi, a", "hi, b", "hi, c"]);
    } finally {
      session.close();
    }
  });

  it.each([
    ["gRPC over h2c", () => createGrpcTransport({ baseUrl: baseUrl(server) })],
    ["gRPC-Web over HTTP/1.1", () => createGrpcWebTransport({ baseUrl: baseUrl(server), httpVersion: "1.1" })],
    ["Connect binary over HTTP/1.1", () => createConnectTransport({ baseUrl: baseUrl(server), httpVersion: "1.1", useBinaryFormat: true })],
    ["Connect JSON over HTTP/2", () => createConnectTransport({ baseUrl: baseUrl(server), httpVersion: "2" })],
    ["gRPC-Web over HTTP/2", () => createGrpcWebTransport({ baseUrl: baseUrl(server), httpVersion: "2" })],
  ])("serves %s", async (_name, transport) => {
    const client = createClient(Runtime, transport());
    expect((await client.sayHello({ name: "client" })).hello).toBe("hi, client");
  });

  it("answers a failing handler with an error status and keeps serving", async () => {
    const client = createClient(Runtime, createGrpcTransport({ baseUrl: baseUrl(server) }));
    await expect(client.sayHello({ name: "boom" })).rejects.toMatchObject({ code: Code.Internal });
    expect((await client.sayHello({ name: "after" })).hello).toBe("hi, after");
  });

  it("survives garbage and half-sent connections", async () => {
    for (const bytes of ["\x00\x01\x02garbage\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\nnot-a-frame", "PRI"]) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(new URL(baseUrl(server)).port), "127.0.0.1", () => {
          socket.write(bytes);
          setTimeout(() => socket.destroy(), 20);
        });
        socket.on("error", () => undefined);
        socket.on("close", () => resolve());
      });
    }
    const client = createClient(Runtime, createGrpcTransport({ baseUrl: baseUrl(server) }));
    expect((await client.sayHello({ name: "still here" })).hello).toBe("hi, still here");
  });

  it("answers unknown paths with 404", async () => {
    expect((await fetch(baseUrl(server) + "/nope", { method: "POST" })).status).toBe(404);
  });
});

describe("the API server on a Unix socket", () => {
  it("serves HTTP/1.1 and HTTP/2 there too, and removes a stale socket file first", async () => {
    const socketPath = path.join(mkdtempSync(path.join(tmpdir(), "ottavo-api-")), "api.sock");
    await leaveStaleSocket(socketPath);
    expect(lstatSync(socketPath).isSocket()).toBe(true);

    const server = await ApiServer.start({ address: { kind: "unix", path: socketPath }, routes: trivialRoutes({ waiting: [] }) });
    try {
      expect(server.address).toEqual({ kind: "unix", path: socketPath });
      const body = await new Promise<string>((resolve, reject) => {
        const request = http.request(
          { socketPath, path: sayHelloPath, method: "POST", headers: { "content-type": "application/json" } },
          (response) => {
            let text = "";
            response.on("data", (chunk: Buffer) => (text += chunk.toString()));
            response.on("end", () => resolve(text));
          },
        );
        request.on("error", reject);
        request.end(JSON.stringify({ name: "uds" }));
      });
      expect(body).toBe('{"hello":"hi, uds"}');
      const session = http2.connect("http://localhost", { createConnection: () => net.connect(socketPath) });
      try {
        expect((await h2Request(session, sayHelloPath, JSON.stringify({ name: "uds2" }))).body).toBe('{"hello":"hi, uds2"}');
      } finally {
        session.close();
      }
    } finally {
      await server.shutdown(100);
    }
  });
});

describe("graceful shutdown of the API server", () => {
  it("stops accepting, ends streams, lets in-flight unary calls finish, then resolves", async () => {
    const gate: Gate = { waiting: [] };
    const server = await ApiServer.start({ address: { kind: "tcp", host: "127.0.0.1", port: 0 }, routes: trivialRoutes(gate) });
    const url = baseUrl(server);
    const grpc = createClient(Runtime, createGrpcTransport({ baseUrl: url }));

    const slow = grpc.getState({ storeName: "s", key: "k" });
    const slowHttp1 = fetch(url + "/spec.proto.runtime.v1.Runtime/GetState", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ store_name: "s", key: "h1" }),
    });
    const stream = (async () => {
      for await (const _ of grpc.subscribeConfiguration((async function* () {
        yield { storeName: "c" };
        await new Promise(() => undefined);
      })())) {
        // no items expected
      }
    })();
    await eventually(() => server.inFlight === 3);

    const shutdown = server.shutdown(5_000);
    // Streams are told to end: the client sees UNAVAILABLE.
    await expect(stream).rejects.toMatchObject({ code: Code.Unavailable });
    // New connections are refused while the unary call is still running.
    await expect(fetch(url + sayHelloPath, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).rejects.toThrow();
    expect(server.inFlight).toBe(2);
    for (const release of gate.waiting) release();
    expect(new TextDecoder().decode((await slow).data)).toBe("value of k");
    const http1Answer = await slowHttp1;
    // The HTTP/1.1 connection is told to close after its last answer.
    expect(http1Answer.headers.get("connection")).toBe("close");
    expect(await http1Answer.json()).toEqual({ data: Buffer.from("value of h1").toString("base64"), etag: "1" });
    await expect(shutdown).resolves.toEqual({ drained: true });
  });

  it("gives up on calls still running after the timeout and closes their connections", async () => {
    const gate: Gate = { waiting: [] };
    const server = await ApiServer.start({ address: { kind: "tcp", host: "127.0.0.1", port: 0 }, routes: trivialRoutes(gate) });
    const call = fetch(baseUrl(server) + "/spec.proto.runtime.v1.Runtime/GetState", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ store_name: "s", key: "never" }),
    });
    await eventually(() => server.inFlight === 1);
    const started = Date.now();
    await expect(server.shutdown(100)).resolves.toEqual({ drained: false });
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(call).rejects.toThrow();
  });
});

/** A socket file whose server died without removing it: a child listens, then is killed with SIGKILL. */
async function leaveStaleSocket(socketPath: string): Promise<void> {
  const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(socketPath)}, () => console.log("up"))`]);
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}
