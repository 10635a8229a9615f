/**
 * Issue 11, findings 4 and 5, and the connection limits: sockets closed after an
 * HTTP/2 protocol error, header and idle timeouts on both protocols, connections
 * per client, stream and header limits; file descriptors counted in the runtime
 * process (/proc/<pid>/fd).
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import { eventually, openFdCount, startRuntime, tcpStatesOfPort, type RunningRuntime } from "@ottavo/test-support";

let runtime: RunningRuntime;
let baselineFds: number;

/** Short timeouts so that the test sees them act; the defaults are in the README. */
const config = `app: { id: limits }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
limits:
  headersTimeout: 1s
  idleTimeout: 2s
  keepAliveTime: 1s
  keepAliveTimeout: 1s
  maxConnectionsPerClient: 40
  maxConcurrentStreams: 20
  maxHeaderBytes: 8192
components:
  hello:
    quick_start_demo: { type: helloworld, metadata: { hello: greetings } }
`;

beforeAll(async () => {
  runtime = await startRuntime({ config });
  baselineFds = openFdCount(runtime.process.pid!);
});

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

jest.setTimeout(30_000);

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const emptySettings = frame(4, 0, 0, Buffer.alloc(0));

/** One HTTP/2 frame: 24-bit length, type, flags, stream id. */
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** The protocol errors of finding 4; each makes the server answer GOAWAY. */
const brokenConnections: Record<string, Buffer> = {
  "DATA on stream 0": frame(0, 0, 0, Buffer.from("x")),
  "bad HPACK": frame(1, 0x5, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])),
  "an oversized frame": frame(0, 0, 1, Buffer.alloc(20_000)),
  "rapid resets": rapidResets(10_000),
};

/** Streams opened (GET / from the static table) and cancelled at once, over and over (CVE-2023-44487). */
function rapidResets(count: number): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const id = 1 + 2 * i;
    frames.push(frame(1, 0x5, id, Buffer.from([0x82, 0x86, 0x84, 0x41, 0x01, 0x78])));
    frames.push(frame(3, 0, id, Buffer.from([0, 0, 0, 8])));
  }
  return Buffer.concat(frames);
}

/** Opens a raw connection and sends bytes; `answered` resolves once the server sent something or closed it. */
function rawConnection(port: number, bytes: Buffer): Promise<net.Socket & { answered: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(bytes);
      resolve(Object.assign(socket, { answered }));
    });
    const answered = new Promise<void>((done) => {
      socket.once("data", () => done());
      socket.once("close", () => done());
    });
    socket.on("data", () => undefined);
    socket.on("error", () => undefined);
  });
}

const noCloseWait = () => (tcpStatesOfPort(runtime.apiPort).CLOSE_WAIT ?? 0) === 0;
const fdsBackToBaseline = () => openFdCount(runtime.process.pid!) <= baselineFds + 2;
/** The runtime holds no client connection (its side of each is closed, so it has counted it out). */
const noClientConnections = () => Object.keys(tcpStatesOfPort(runtime.apiPort)).every((state) => state === "LISTEN" || state === "TIME_WAIT");

describe("after an HTTP/2 connection error (finding 4)", () => {
  it.each(Object.entries(brokenConnections))("closes the socket the client left, after %s", async (_what, bytes) => {
    const sockets = await Promise.all(Array.from({ length: 10 }, () => rawConnection(runtime.apiPort, Buffer.concat([preface, emptySettings, bytes]))));
    // Once the server has answered (its SETTINGS, then GOAWAY), the client hangs up its side, as grpc clients do
    // after GOAWAY; the server must notice and close its own.
    await Promise.all(sockets.map((socket) => socket.answered));
    for (const socket of sockets) socket.end();
    await eventually(() => noCloseWait() && fdsBackToBaseline());
    for (const socket of sockets) socket.destroy();
  });
});

describe("timeouts (finding 5)", () => {
  it("cuts off HTTP/1.1 clients that send headers one byte at a time (slowloris)", async () => {
    const sockets = await Promise.all(Array.from({ length: 30 }, () => rawConnection(runtime.apiPort, Buffer.from("POST /spec.proto.runtime.v1.Runtime/SayHello HTTP/1.1\r\nHost: x\r\n"))));
    const closed = sockets.map((socket) => new Promise<string>((resolve) => {
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
    }));
    const trickle = setInterval(() => sockets.forEach((socket) => socket.writable && socket.write("X-Slow: 1\r\n")), 200);
    try {
      const answers = await Promise.all(closed);
      for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
    }
    await eventually(fdsBackToBaseline);
  });

  it("closes idle HTTP/2 connections (GOAWAY, then the socket)", async () => {
    const sessions = Array.from({ length: 20 }, () => http2.connect(`http://127.0.0.1:${runtime.apiPort}`));
    const goaways = sessions.map((session) => new Promise<void>((resolve) => session.once("goaway", () => resolve())));
    const closes = sessions.map((session) => new Promise<void>((resolve) => session.once("close", () => resolve())));
    sessions.forEach((session) => session.on("error", () => undefined));
    await Promise.all(goaways);
    await Promise.all(closes);
    await eventually(fdsBackToBaseline);
  });

  it("keeps a connection that has a call in progress, and answers on it", async () => {
    const session = http2.connect(`http://127.0.0.1:${runtime.apiPort}`);
    let goaway = false;
    session.on("goaway", () => (goaway = true));
    // Three calls 1.5 s apart: each lull is shorter than idleTimeout (2 s), the whole is longer.
    for (let i = 0; i < 3; i++) {
      expect(await sayHello(session)).toBe(200);
      if (i < 2) await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    expect(goaway).toBe(false);
    session.close();
  });
});

describe("connection and stream limits", () => {
  it("holds one client to maxConnectionsPerClient (40 here)", async () => {
    // Connections of earlier tests count too: wait until they are gone (the file descriptors' slack of 2 could hide one).
    await eventually(() => fdsBackToBaseline() && noClientConnections());
    const sockets = await Promise.all(Array.from({ length: 50 }, () => rawConnection(runtime.apiPort, Buffer.alloc(0))));
    const closedAtOnce = await eventually(() => {
      const closed = sockets.filter((socket) => socket.destroyed || socket.readyState === "closed" || (socket as net.Socket & { readableEnded: boolean }).readableEnded).length;
      return closed >= 10 ? closed : false;
    });
    expect(closedAtOnce).toBe(10);
    sockets.forEach((socket) => socket.destroy());
    await eventually(fdsBackToBaseline);
  });

  it("announces maxConcurrentStreams and refuses oversized headers", async () => {
    const session = http2.connect(`http://127.0.0.1:${runtime.apiPort}`);
    await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(20);
    expect(await sayHello(session, { "x-big": "a".repeat(9000) }).catch(() => "refused")).not.toBe(200);
    session.destroy();
    const http1 = await fetch(`${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/SayHello`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-big": "a".repeat(9000) },
      body: "{}",
    });
    expect(http1.status).toBe(431);
  });
});

function sayHello(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": "/spec.proto.runtime.v1.Runtime/SayHello",
      "content-type": "application/json",
      ...headers,
    });
    let status = 0;
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", () => undefined);
    stream.on("close", () => (status === 0 ? reject(new Error(`no answer (code ${stream.rstCode})`)) : resolve(status)));
    stream.on("error", () => undefined);
    stream.end('{"serviceName":"quick_start_demo"}');
  });
}
