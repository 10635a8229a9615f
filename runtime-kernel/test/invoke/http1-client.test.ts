/**
 * The HTTP/1.1 client of HTTP targets (invoke/http1-client.ts) against servers
 * that answer byte by byte as scripted: framing (content-length, chunked with
 * extensions and trailers, read-until-close, interim 1xx), connection reuse and
 * its hazards (a server closing a kept-alive connection, retried only when
 * safe), malformed answers, the body limit, the connection cap, and no sockets
 * or listeners left behind after many calls with aborts.
 */
import { getEventListeners } from "node:events";
import type * as net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { eventually } from "@ottavo/test-support";
import { HttpTarget } from "../../src/invoke/http-target";
import type { InvocationRequest } from "../../src/invoke/invocation";
import { wasNotSent } from "../../src/invoke/invocation-errors";
import { Http1ResponseParser, MalformedAnswer } from "../../src/invoke/http1-response-parser";
import { expectError } from "../handlers/support";
import { closedPort, rawServer, type RawRequest, type RawServer } from "./support";

const ok = (body: string, extra = "") => `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

function call(target: HttpTarget, init: Partial<InvocationRequest> = {}) {
  return target.invoke({
    id: "svc",
    method: "m",
    verb: "GET",
    query: "",
    contentType: "",
    data: new Uint8Array(0),
    headers: [],
    signal: new AbortController().signal,
    hops: 0,
    ...init,
  });
}

const text = (data: Uint8Array) => Buffer.from(data).toString("utf8");
const targets: HttpTarget[] = [];
const servers: RawServer[] = [];

function targetOf(server: RawServer, maxSockets?: number): HttpTarget {
  const target = new HttpTarget({ url: server.url, description: "svc", ...(maxSockets === undefined ? {} : { maxSockets }), maxResponseBytes: 1024 });
  targets.push(target);
  return target;
}

async function serve(answer: (request: RawRequest, socket: net.Socket) => void): Promise<RawServer> {
  const server = await rawServer(answer);
  servers.push(server);
  return server;
}

/** Writes the bytes one at a time, each in its own packet (no delay, a turn between writes). */
async function trickle(socket: net.Socket, bytes: string): Promise<void> {
  socket.setNoDelay(true);
  for (const byte of Buffer.from(bytes, "latin1")) {
    await new Promise<void>((resolve) => socket.write(Buffer.of(byte), () => resolve()));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

afterEach(async () => {
  for (const target of targets.splice(0)) target.close();
  for (const server of servers.splice(0)) await server.close();
});

describe("the HTTP/1.1 client of HTTP targets: framing", () => {
  it("reads a chunked answer with chunk extensions and trailers, even one byte per packet, and reuses the connection", async () => {
    const chunked = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-kept: 1\r\ntransfer-encoding: chunked\r\n\r\n" +
      "5;name=value\r\nhello\r\n1A\r\n, this is the second chunk\r\n0\r\nx-trailer: dropped\r\n\r\n";
    const server = await serve((request, socket) => {
      if (request.path === "/slow") void trickle(socket, chunked);
      else socket.write(chunked);
    });
    const target = targetOf(server);
    for (const method of ["fast", "slow", "fast"]) {
      const answer = await call(target, { method });
      expect(text(answer.data)).toBe("hello, this is the second chunk");
      expect(answer.contentType).toBe("text/plain");
      expect(answer.headers).toEqual([["x-kept", "1"]]);
    }
    expect(server.accepted()).toBe(1);
  });

  it("reads a content-length body split across packets, an empty one, and an answer delimited by the connection's close", async () => {
    const server = await serve((request, socket) => {
      if (request.path === "/split") void trickle(socket, ok("split body"));
      else if (request.path === "/empty") socket.write("HTTP/1.1 204 No Content\r\nx-a: b\r\n\r\n");
      else socket.end("HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the close");
    });
    const target = targetOf(server);
    expect(text((await call(target, { method: "split" })).data)).toBe("split body");
    const empty = await call(target, { method: "empty" });
    expect([empty.status, empty.data.length, empty.headers]).toEqual([204, 0, [["x-a", "b"]]]);
    expect(text((await call(target, { method: "close" })).data)).toBe("until the close");
    expect(server.accepted()).toBe(1);
    // That connection cannot be reused: the next call opens another.
    expect(text((await call(target, { method: "split" })).data)).toBe("split body");
    expect(server.accepted()).toBe(2);
  });

  it("skips interim answers (100 Continue, 103 Early Hints) and reads the final one", async () => {
    const server = await serve((_request, socket) => {
      socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n");
      socket.write(ok("final"));
    });
    const answer = await call(targetOf(server), { verb: "POST", data: Buffer.from("body") });
    expect([answer.status, text(answer.data)]).toEqual([200, "final"]);
  });

  it("writes the request line, host, metadata, content type and length as the service expects, and the body after them", async () => {
    const server = await serve((_request, socket) => socket.write(ok("ok")));
    const target = targetOf(server);
    const body = Buffer.alloc(100_000, 7);
    await call(target, {
      verb: "PUT",
      method: "a b/ü",
      query: "x=1",
      contentType: "application/octet-stream",
      data: body,
      headers: [["x-one", "1"], ["x-latin", "caf\u00e9"]],
    });
    const received = server.requests[0]!;
    expect([received.method, received.path]).toEqual(["PUT", "/a%20b/%C3%BC?x=1"]);
    expect(received.headers).toEqual({
      host: new URL(server.url).host,
      "x-one": "1",
      "x-latin": "caf\u00e9",
      "content-type": "application/octet-stream",
      "content-length": "100000",
    });
    expect(Buffer.compare(received.body, body)).toBe(0);
  });
});

describe("the HTTP/1.1 client of HTTP targets: connections", () => {
  it("drops an idle connection the service closed and calls on a new one", async () => {
    const server = await serve((request, socket) => {
      socket.write(ok(`answer ${server.requests.length}`));
      if (request.path === "/then-close") socket.end();
    });
    const target = targetOf(server);
    await call(target, { method: "then-close" });
    // The service closed it after answering (no "connection: close"): the pool lets it go.
    await eventually(() => expect(server.open()).toBe(0));
    expect(text((await call(target, { verb: "POST" })).data)).toBe("answer 2");
    expect(server.accepted()).toBe(2);
  });

  it("sends an idempotent request again on a new connection when a reused one closes before any answer, but not a POST", async () => {
    // The service closes each connection on its second request without answering: a server's idle close racing the request.
    const server = await serve((request, socket) => {
      const onItsConnection = server.requests.filter((r) => r.connection === request.connection).length;
      if (onItsConnection === 2) socket.destroy();
      else socket.write(ok(`answer on connection ${request.connection}`));
    });
    const target = targetOf(server);
    await call(target);
    expect(text((await call(target, { verb: "GET" })).data)).toBe("answer on connection 1");
    expect(server.requests.map((r) => r.connection)).toEqual([0, 0, 1]);
    const failure = await expectError(call(target, { verb: "POST" }), Code.Unavailable, /^cannot call svc: (the connection closed before any answer|read ECONNRESET)/);
    // The service may have applied it: only a resiliency policy may repeat it.
    expect(wasNotSent(failure)).toBe(false);
    expect(server.requests.map((r) => r.connection)).toEqual([0, 0, 1, 1]);
  });

  it("a resend takes the broken connection's place under the cap: a waiting call still waits for it", async () => {
    const server = await serve((request, socket) => {
      const onItsConnection = server.requests.filter((r) => r.connection === request.connection).length;
      if (onItsConnection === 2) socket.destroy();
      else socket.write(ok(`answer on connection ${request.connection}`));
    });
    const target = targetOf(server, 1);
    await call(target);
    const answers = await Promise.all([call(target, { method: "second" }), call(target, { method: "third" })]);
    expect(answers.map((answer) => text(answer.data))).toEqual(["answer on connection 1", "answer on connection 2"]);
    // The third call never had a connection of its own while the second one's resend was open.
    expect(server.requests.map((r) => [r.path, r.connection])).toEqual([
      ["/m", 0],
      ["/second", 0],
      ["/second", 1],
      ["/third", 1],
      ["/third", 2],
    ]);
  });

  it("answers UNAVAILABLE, not sent, when nothing listens", async () => {
    const port = await closedPort();
    const target = new HttpTarget({ url: `http://127.0.0.1:${port}`, description: "gone" });
    targets.push(target);
    const failure = await expectError(call(target, { verb: "POST" }), Code.Unavailable, /^cannot call gone: connect ECONNREFUSED/);
    expect(wasNotSent(failure)).toBe(true);
  });

  it("opens no more connections than its cap; calls beyond it wait for one and all complete", async () => {
    const held: Array<() => void> = [];
    const server = await serve((request, socket) => held.push(() => socket.write(ok(request.path))));
    const target = targetOf(server, 2);
    const calls = Array.from({ length: 10 }, (_, i) => call(target, { method: String(i) }));
    for (let answered = 0; answered < 10; answered++) {
      await eventually(() => expect(held.length).toBeGreaterThan(0));
      expect(server.open()).toBeLessThanOrEqual(2);
      held.shift()!();
    }
    expect((await Promise.all(calls)).map((answer) => text(answer.data))).toEqual(Array.from({ length: 10 }, (_, i) => `/${i}`));
    expect(server.accepted()).toBe(2);
  });

  it("leaves no sockets or abort listeners behind after 1,000 calls, every third one aborted while the service holds it", async () => {
    const server = await serve((request, socket) => {
      if (!request.path.startsWith("/hold")) socket.write(ok("fine"));
    });
    const target = targetOf(server, 4);
    const shared = new AbortController();
    for (let i = 0; i < 1000; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => {
        if ((i + j) % 3 !== 0) return call(target, { signal: shared.signal });
        const caller = new AbortController();
        const method = `hold-${i + j}`;
        const pending = call(target, { method, signal: caller.signal });
        void eventually(() => server.requests.some((r) => r.path === `/${method}`)).then(() =>
          caller.abort(new ConnectError("the caller went away", Code.Canceled)),
        );
        return pending.then(
          () => "answered",
          (error: unknown) => ConnectError.from(error).code,
        );
      });
      const outcomes = await Promise.all(batch);
      for (const outcome of outcomes) expect(outcome === Code.Canceled || typeof outcome === "object").toBe(true);
    }
    expect(getEventListeners(shared.signal, "abort")).toHaveLength(0);
    await eventually(() => expect(server.open()).toBeLessThanOrEqual(4));
    // Connections were reused: a new one only after each aborted call (334 of them), besides the cap's.
    expect(server.accepted()).toBeLessThanOrEqual(334 + 4);
    // The sentinel: a call after all that still answers.
    expect(text((await call(target)).data)).toBe("fine");
    expect(server.open()).toBeLessThanOrEqual(4);
    target.close();
    await eventually(() => expect(server.open()).toBe(0));
  });
});

describe("the HTTP/1.1 client of HTTP targets: bad answers", () => {
  it.each([
    ["no status line", "HTTP/2 200\r\n\r\n", /does not start with an HTTP\/1\.x status line/],
    ["garbage", "hello there\r\n\r\n", /does not start with an HTTP\/1\.x status line/],
    ["conflicting lengths", "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd", /conflicting content-length/],
    ["a bad length", "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", /content-length '-1' is not a length/],
    ["a bad chunk size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", /chunk-size line is malformed/],
    ["a chunk longer than its size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", /chunk is longer than its size/],
    ["a bare LF in a header", "HTTP/1.1 200 OK\r\nx-a: 1\nx-b: 2\r\ncontent-length: 0\r\n\r\n", /outside a line end/],
    ["a bare CR in a header", "HTTP/1.1 200 OK\r\nx-a: 1\rx-b: 2\r\ncontent-length: 0\r\n\r\n", /outside a line end/],
    ["a NUL in a header", "HTTP/1.1 200 OK\r\nx-a: 1\u0000\r\ncontent-length: 0\r\n\r\n", /holds a NUL/],
    ["a space in a header name", "HTTP/1.1 200 OK\r\nx a: 1\r\ncontent-length: 0\r\n\r\n", /header name of the answer is malformed/],
    ["a folded header line", "HTTP/1.1 200 OK\r\nx-a: 1\r\n  more\r\ncontent-length: 0\r\n\r\n", /header line of the answer is malformed|header name/],
    ["a switch of protocols", "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n", /switched protocols/],
  ])("answers UNAVAILABLE for %s and does not reuse the connection", async (_what, answer, why) => {
    const server = await serve((request, socket) => socket.write(request.path === "/bad" ? answer : ok("good")));
    const target = targetOf(server);
    const failure = await expectError(call(target, { method: "bad" }), Code.Unavailable, /^cannot call svc: malformed answer: /);
    expect(failure.rawMessage).toMatch(why);
    expect(text((await call(target)).data)).toBe("good");
    expect(server.accepted()).toBe(2);
  });

  it("answers UNAVAILABLE when the connection closes in the middle of an answer", async () => {
    const server = await serve((_request, socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"));
    await expectError(call(targetOf(server)), Code.Unavailable, "cannot call svc: the connection closed before the answer was complete");
  });

  it("answers RESOURCE_EXHAUSTED past the body limit, for a length and for chunks, and closes that connection", async () => {
    const big = "x".repeat(1025);
    const server = await serve((request, socket) =>
      socket.write(
        request.path === "/length"
          ? ok(big)
          : request.path === "/chunks"
            ? `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n400\r\n${big.slice(0, 1024)}\r\n1\r\nx\r\n0\r\n\r\n`
            : ok("small"),
      ),
    );
    const target = targetOf(server);
    for (const method of ["length", "chunks"]) {
      await expectError(call(target, { method }), Code.ResourceExhausted, "svc answered more than 1024 bytes");
    }
    expect(text((await call(target)).data)).toBe("small");
    expect(server.accepted()).toBe(3);
  });

  it("refuses metadata an HTTP/1.1 header cannot carry with INVALID_ARGUMENT, before sending anything", async () => {
    const server = await serve((_request, socket) => socket.write(ok("never")));
    const target = targetOf(server);
    await expectError(call(target, { headers: [["x-a", "one\r\nx-injected: yes"]] }), Code.InvalidArgument, /the value of 'x-a' holds characters/);
    await expectError(call(target, { contentType: "text/plain\r\n\r\nGET /other" }), Code.InvalidArgument, /the value of 'content-type'/);
    await expectError(call(target, { headers: [["bad name", "1"]] }), Code.InvalidArgument, /metadata name 'bad name'/);
    expect(server.requests).toHaveLength(0);
  });
});

describe("Http1ResponseParser", () => {
  it("keeps bytes after the answer as leftover, and treats HEAD answers as bodiless", () => {
    const parser = new Http1ResponseParser(100);
    expect(parser.push(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nabHTTP/1.1"))).toBe(true);
    expect([text(parser.answer().body), parser.leftover, parser.answer().keepAlive]).toEqual(["ab", 8, true]);
    const head = new Http1ResponseParser(100, true);
    expect(head.push(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 20\r\nkeep-alive: timeout=5\r\n\r\n"))).toBe(true);
    expect([head.answer().body.length, head.answer().keepAliveMs]).toEqual([0, 5000]);
  });

  it("reads connection: close and HTTP/1.0 keep-alive", () => {
    const close = new Http1ResponseParser(100);
    close.push(Buffer.from("HTTP/1.1 200 OK\r\nConnection: Close\r\ncontent-length: 0\r\n\r\n"));
    expect(close.answer().keepAlive).toBe(false);
    const old = new Http1ResponseParser(100);
    old.push(Buffer.from("HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n"));
    expect(old.answer().keepAlive).toBe(true);
  });

  it("refuses a header section past its limit", () => {
    const parser = new Http1ResponseParser(100);
    expect(() => parser.push(Buffer.from(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(70 * 1024)}`))).toThrow(MalformedAnswer);
  });
});
