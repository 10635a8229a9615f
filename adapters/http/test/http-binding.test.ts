import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as zlib from "node:zlib";
import { ComponentError } from "@ottavo/component-runtime";
import type { OutputBinding } from "@ottavo/generated/components/binding";
import { httpAdapters, httpBindingAdapter } from "../src";

interface Echo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let baseUrl: string;
const opened: OutputBinding[] = [];
const pending = new Set<http.ServerResponse>();

const context = { componentName: "remote", appId: "app", configDir: "/", settings: {} };

/** The Fetch spec's "bad ports", which fetch refuses to connect to. */
const portsFetchRefuses = [6000, 6665, 6666, 6667, 6668, 6669, 6697, 10080];

const decoded = "decoded body ".repeat(1000);
const encodings: Record<string, [string, Buffer]> = {
  gzip: ["gzip", zlib.gzipSync(decoded)],
  deflate: ["deflate", zlib.deflateSync(decoded)],
  "deflate-raw": ["deflate", zlib.deflateRawSync(decoded)],
  br: ["br", zlib.brotliCompressSync(decoded)],
  "gzip-of-deflate": ["deflate, gzip", zlib.gzipSync(zlib.deflateSync(decoded))],
};

/** Resolves when the server side of a request sees its connection closed. */
const closedByClient = new Map<string, Promise<void>>();

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString();
    const route = req.url!.replace(/^\/api/, "");
    if (route.startsWith("/status/")) {
      res.writeHead(Number(route.slice("/status/".length)), { "content-type": "text/plain" });
      res.end(`failure details ${"x".repeat(2000)}`);
    } else if (route === "/slow") {
      pending.add(res); // never answered; the binding must give up
    } else if (route === "/big") {
      res.end(Buffer.alloc(4096, 0x61));
    } else if (route === "/cookies") {
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.setHeader("X-Custom-Thing", "yes");
      res.end();
    } else if (route.startsWith("/encoded/")) {
      const [coding, data] = encodings[route.slice("/encoded/".length)]!;
      res.writeHead(200, { "content-encoding": coding });
      res.end(data);
    } else if (route.startsWith("/stall-body/") || route.startsWith("/endless/")) {
      // The head and some body at once, then nothing more (stall) or body without end (endless).
      closedByClient.set(route, new Promise((resolve) => res.on("close", resolve)));
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write(Buffer.alloc(100, 0x62));
      if (route.startsWith("/endless/")) {
        const more = (): void => {
          while (!res.destroyed && res.write(Buffer.alloc(64 * 1024, 0x62)));
        };
        res.on("drain", more);
        more();
      } else {
        pending.add(res);
      }
    } else if (route.startsWith("/redirect/")) {
      // /redirect/<status>?to=<location>
      const target = new URL(route, "http://x");
      res.writeHead(Number(target.pathname.slice("/redirect/".length)), { location: target.searchParams.get("to")! });
      res.end("see elsewhere");
    } else if (route === "/loop") {
      res.writeHead(302, { location: "loop" });
      res.end();
    } else {
      const echo: Echo = { method: req.method!, url: req.url!, headers: req.headers, body };
      res.writeHead(201, { "content-type": "application/json" });
      res.end(req.method === "HEAD" ? undefined : JSON.stringify(echo));
    }
  });
}

function listen(target: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => reject(err);
    target.once("error", fail);
    target.listen(port, "127.0.0.1", () => {
      target.off("error", fail);
      resolve();
    });
  });
}

async function closeServer(target: http.Server): Promise<void> {
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
}

beforeAll(async () => {
  server = http.createServer(handle);
  await listen(server, 0);
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const binding of opened.splice(0)) await binding.close();
  for (const res of pending) res.destroy();
  pending.clear();
});

afterAll(async () => {
  await closeServer(server);
});

async function open(metadata: Record<string, unknown> = {}): Promise<OutputBinding> {
  const binding = await httpBindingAdapter.create({ url: `${baseUrl}/api/`, ...metadata }, context);
  opened.push(binding);
  return binding;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const echoOf = (data: Uint8Array) => JSON.parse(Buffer.from(data).toString()) as Echo;

async function failure(promise: Promise<unknown>): Promise<ComponentError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ComponentError);
    return err as ComponentError;
  }
  throw new Error("expected a rejection");
}

test("is registered as the 'http' binding with no features", async () => {
  expect(httpAdapters.map((a) => `${a.capability}/${a.type}`)).toEqual(["binding/http"]);
  expect((await open()).features.size).toBe(0);
});

test("get appends the path to the url, sends allowed metadata as headers and answers statusCode", async () => {
  const binding = await open({ allowedHeaders: "x-request-id, authorization" });
  const result = await binding.invoke({
    operation: "get",
    data: bytes("ignored for get"),
    metadata: { path: "/items/7?full=1", "X-Request-Id": "r-1", Authorization: "Bearer t" },
  });
  const echo = echoOf(result.data);
  expect(echo).toMatchObject({ method: "GET", url: "/api/items/7?full=1", body: "" });
  expect(echo.headers).toMatchObject({ "x-request-id": "r-1", authorization: "Bearer t" });
  expect(echo.headers.path).toBeUndefined();
  expect(result.metadata).toMatchObject({ statusCode: "201", status: "201 Created", "Content-Type": "application/json" });
});

test("post sends the data as the body, any case of the method works", async () => {
  const binding = await open();
  const result = await binding.invoke({
    operation: "POST",
    data: bytes('{"hello":"world"}'),
    metadata: { path: "orders", "Content-Type": "application/json" },
  });
  expect(echoOf(result.data)).toMatchObject({
    method: "POST",
    url: "/api/orders",
    body: '{"hello":"world"}',
    headers: { "content-type": "application/json" },
  });
});

test("put, patch, delete, head and options reach the server with their method", async () => {
  const binding = await open();
  for (const operation of ["put", "patch", "delete", "options"]) {
    const result = await binding.invoke({ operation, data: bytes("d"), metadata: {} });
    expect(echoOf(result.data).method).toBe(operation.toUpperCase());
  }
  const head = await binding.invoke({ operation: "head", data: new Uint8Array(), metadata: {} });
  expect(head.data.byteLength).toBe(0);
  expect(head.metadata.statusCode).toBe("201");
});

test("metadata that cannot be a header is left out instead of failing the call", async () => {
  const binding = await open({ allowedHeaders: "*" });
  const result = await binding.invoke({
    operation: "get",
    data: new Uint8Array(),
    metadata: { "bad header": "x", "x-ok": "fine", "x-newline": "a\r\nInjected: yes", "content-length": "999" },
  });
  const headers = echoOf(result.data).headers;
  expect(headers["x-ok"]).toBe("fine");
  expect(headers["x-newline"]).toBeUndefined();
  expect(headers.injected).toBeUndefined();
  expect(headers["content-length"]).toBeUndefined();
});

test("repeated response headers are joined, names in Go's canonical form", async () => {
  const result = await (await open()).invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "cookies" } });
  expect(result.metadata["Set-Cookie"]).toBe("a=1, b=2");
  expect(result.metadata["X-Custom-Thing"]).toBe("yes");
});

test("an answer with status >= 400 fails with the status and the start of the body", async () => {
  const binding = await httpBindingAdapter.create({ url: baseUrl }, context);
  opened.push(binding);
  const err = await failure(binding.invoke({ operation: "post", data: bytes("x"), metadata: { path: "status/404" } }));
  expect(err.status).toBe("UNAVAILABLE");
  expect(err.message).toMatch(new RegExp(`^http binding: POST ${baseUrl}/status/404 answered 404: failure details x+$`));
  expect(err.message.length).toBeLessThan(700);

  const server500 = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "status/503" } }));
  expect(server500.message).toContain("answered 503");
});

test("a request slower than responseTimeout fails as UNAVAILABLE naming the timeout", async () => {
  const binding = await open({ responseTimeout: "200ms" });
  const started = Date.now();
  const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "slow" } }));
  expect(err.status).toBe("UNAVAILABLE");
  expect(err.message).toContain("timed out after 200 ms");
  expect(Date.now() - started).toBeLessThan(5000);
});

test("close cancels requests in flight", async () => {
  const binding = await open();
  const call = failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "slow" } }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await binding.close();
  const err = await call;
  expect(err.status).toBe("UNAVAILABLE");
  expect(err.message).toContain("the binding is closing");
});

test("a body larger than maxResponseBytes is refused", async () => {
  const binding = await open({ maxResponseBytes: 1000 });
  const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "big" } }));
  expect(err.status).toBe("UNAVAILABLE");
  expect(err.message).toContain("larger than maxResponseBytes (1000 bytes)");
  const roomy = await open({ maxResponseBytes: 4096 });
  expect((await roomy.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "big" } })).data.byteLength).toBe(4096);
});

test("an unsupported operation fails with INVALID_ARGUMENT listing the supported ones", async () => {
  const err = await failure((await open()).invoke({ operation: "create", data: new Uint8Array(), metadata: {} }));
  expect(err.status).toBe("INVALID_ARGUMENT");
  expect(err.message).toContain("get, head, post, put, patch, delete, options, trace");
});

test("an endpoint nobody listens on fails as UNAVAILABLE", async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const binding = await httpBindingAdapter.create({ url: `http://127.0.0.1:${port}` }, context);
  opened.push(binding);
  const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: {} }));
  expect(err.status).toBe("UNAVAILABLE");
  expect(err.message).toMatch(/failed: .*ECONNREFUSED/);
  expect(err.message).toBe(
    `http binding: GET http://127.0.0.1:${port} failed: the connection was refused (connect ECONNREFUSED 127.0.0.1:${port})`,
  );
});

test("a url that is not http(s) stops the start", async () => {
  await expect(httpBindingAdapter.create({ url: "ftp://example.com" }, context)).rejects.toThrow(/'url' must be an absolute http/);
  await expect(httpBindingAdapter.create({ url: "not a url" }, context)).rejects.toThrow(/'url'/);
  await expect(httpBindingAdapter.create({}, context)).rejects.toThrow(/url/);
});

test("health resolves without calling the endpoint", async () => {
  const binding = await httpBindingAdapter.create({ url: "http://127.0.0.1:1" }, context);
  opened.push(binding);
  await expect(binding.health!()).resolves.toBeUndefined();
});

test("a port fetch refuses (the Fetch spec's bad ports) is reached", async () => {
  const blocked = http.createServer(handle);
  const refused: string[] = [];
  let port: number | undefined;
  for (const candidate of portsFetchRefuses) {
    try {
      await listen(blocked, candidate);
      port = candidate;
      break;
    } catch (err) {
      refused.push(`${candidate}: ${(err as Error).message}`);
    }
  }
  if (port === undefined) {
    throw new Error(`no port of ${portsFetchRefuses.join(", ")} could be bound on 127.0.0.1, so the test cannot run: ${refused.join("; ")}`);
  }
  try {
    const binding = await httpBindingAdapter.create({ url: `http://127.0.0.1:${port}/api` }, context);
    opened.push(binding);
    const result = await binding.invoke({ operation: "post", data: bytes("to a bad port"), metadata: { path: "orders" } });
    expect(result.metadata.statusCode).toBe("201");
    expect(echoOf(result.data)).toMatchObject({ method: "POST", url: "/api/orders", body: "to a bad port" });
    await expect(fetch(`http://127.0.0.1:${port}/api`)).rejects.toThrow(); // what the binding used to do
  } finally {
    await closeServer(blocked);
  }
});

test("fetch's default headers are sent unless metadata sets them", async () => {
  const binding = await open();
  const plain = echoOf((await binding.invoke({ operation: "get", data: new Uint8Array(), metadata: {} })).data).headers;
  expect(plain).toMatchObject({ accept: "*/*", "user-agent": "node", "accept-encoding": "gzip, deflate" });
  const own = echoOf(
    (await binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { Accept: "text/plain", "user-agent": "me/1" } })).data,
  ).headers;
  expect(own).toMatchObject({ accept: "text/plain", "user-agent": "me/1" });
});

test("credentials in the url are sent as basic auth, as Go does, and never shown", async () => {
  const port = (server.address() as AddressInfo).port;
  const binding = await httpBindingAdapter.create({ url: `http://us%40er:p%3Ass@127.0.0.1:${port}/api` }, context);
  opened.push(binding);
  const sent = echoOf((await binding.invoke({ operation: "get", data: new Uint8Array(), metadata: {} })).data).headers;
  expect(sent.authorization).toBe(`Basic ${Buffer.from("us@er:p:ss").toString("base64")}`);

  // Metadata's Authorization is not on the default allow-list: the url's credentials are sent.
  const notAllowed = echoOf((await binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { Authorization: "Bearer t" } })).data);
  expect(notAllowed.headers.authorization).toBe(`Basic ${Buffer.from("us@er:p:ss").toString("base64")}`);
  const allowing = await httpBindingAdapter.create({ url: `http://us%40er:p%3Ass@127.0.0.1:${port}/api`, allowedHeaders: "authorization" }, context);
  opened.push(allowing);
  const own = echoOf((await allowing.invoke({ operation: "get", data: new Uint8Array(), metadata: { Authorization: "Bearer t" } })).data);
  expect(own.headers.authorization).toBe("Bearer t");

  const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "status/401" } }));
  expect(err.message).toMatch(new RegExp(`^http binding: GET http://127.0.0.1:${port}/api/status/401 answered 401`));
  expect(err.message).not.toMatch(/us%40er|p%3Ass|us@er/);
});

test("gzip, deflate (zlib or raw) and br bodies are decoded, maxResponseBytes counting decoded bytes", async () => {
  const binding = await open();
  for (const name of Object.keys(encodings)) {
    const result = await binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: `encoded/${name}` } });
    expect(Buffer.from(result.data).toString()).toBe(decoded);
  }
  const small = await open({ maxResponseBytes: 1000 });
  const err = await failure(small.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "encoded/gzip" } }));
  expect(err.message).toContain("larger than maxResponseBytes (1000 bytes)");
});

test("redirects are not followed by default: the redirect is the answer (issue 11, finding 9)", async () => {
  const binding = await open();
  const result = await binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "redirect/302?to=/api/moved" } });
  expect(result.metadata).toMatchObject({ statusCode: "302", Location: "/api/moved" });
});

test("with followRedirects, only redirects to the url's own origin are followed", async () => {
  const binding = await open({ followRedirects: true });
  const post = (path: string) =>
    binding.invoke({ operation: "post", data: bytes("payload"), metadata: { path, "Content-Type": "text/plain" } });

  // 301 (and 302) turn a POST into a GET without a body; 307 (and 308) keep method and body.
  const moved = echoOf((await post("redirect/301?to=/api/moved")).data);
  expect(moved).toMatchObject({ method: "GET", url: "/api/moved", body: "" });
  expect(moved.headers["content-type"]).toBeUndefined();
  const kept = echoOf((await post("redirect/307?to=../kept")).data);
  expect(kept).toMatchObject({ method: "POST", url: "/api/kept", body: "payload", headers: { "content-type": "text/plain" } });

  // Credentials stay with their origin.
  const other = http.createServer(handle);
  await listen(other, 0);
  try {
    const elsewhere = `http://127.0.0.1:${(other.address() as AddressInfo).port}/api/there`;
    // Another port is another origin: refused, and nothing (the API key least of all) reaches it.
    let reached = false;
    other.on("request", () => (reached = true));
    const refused = await failure(
      binding.invoke({
        operation: "get",
        data: new Uint8Array(),
        metadata: { path: `redirect/302?to=${encodeURIComponent(elsewhere)}`, "X-Api-Key": "k" },
      }),
    );
    expect(refused.status).toBe("UNAVAILABLE");
    expect(refused.message).toContain("redirecting to another origin");
    expect(reached).toBe(false);
  } finally {
    await closeServer(other);
  }

  const loop = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "loop" } }));
  expect(loop.status).toBe("UNAVAILABLE");
  expect(loop.message).toContain("failed: more than 20 redirects");
});

test("responseTimeout covers reading the body, and the connection is closed when it passes", async () => {
  const binding = await open({ responseTimeout: "200ms" });
  const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "stall-body/1" } }));
  expect(err.status).toBe("UNAVAILABLE");
  expect(err.message).toContain("timed out after 200 ms");
  await closedByClient.get("/stall-body/1");
});

test("close cancels a request whose body is being read", async () => {
  const binding = await open();
  const call = failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "stall-body/2" } }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await binding.close();
  expect((await call).message).toContain("the binding is closing");
  await closedByClient.get("/stall-body/2");
});

test("a body over maxResponseBytes is not read to its end: the response is dropped", async () => {
  const binding = await open({ maxResponseBytes: 1000 });
  const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "endless/1" } }));
  expect(err.message).toContain("larger than maxResponseBytes (1000 bytes)");
  await closedByClient.get("/endless/1"); // the body never ends, so only dropping the connection ends it
});

test("metadata path cannot leave the configured url's path (issue 11, finding 9)", async () => {
  const binding = await open();
  for (const path of ["../../../etc/passwd", "a/../../b", "%2e%2e/%2e%2e/x", "..%2fx"]) {
    const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path } }));
    expect(err.status).toBe("INVALID_ARGUMENT");
    expect(err.message).toContain("leaves the configured url's path");
  }
  const inside = echoOf((await binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "a/../items" } })).data);
  expect(inside.url).toBe("/api/items");
});

test("by default only headers that carry no credentials or identity are sent (issue 11, finding 9)", async () => {
  const binding = await open();
  const metadata = {
    "Content-Type": "a/b",
    Accept: "text/plain",
    "If-None-Match": '"v1"',
    Authorization: "Bearer secret",
    "X-Api-Key": "k",
    Cookie: "session=1",
    "X-Forwarded-For": "10.0.0.1",
    "X-Request-Id": "r",
  };
  const sent = echoOf((await binding.invoke({ operation: "post", data: bytes("body"), metadata })).data).headers;
  // The allowed ones arrived (the sentinel that the headers were read) ...
  expect(sent).toMatchObject({ "content-type": "a/b", accept: "text/plain", "if-none-match": '"v1"' });
  // ... and none of the others.
  for (const name of ["authorization", "x-api-key", "cookie", "x-forwarded-for", "x-request-id"]) expect(sent[name]).toBeUndefined();

  // Listed, they are sent; "*" sends every metadata entry, as Dapr does.
  const listed = await open({ allowedHeaders: "X-Api-Key,authorization" });
  const sentListed = echoOf((await listed.invoke({ operation: "get", data: new Uint8Array(), metadata })).data).headers;
  expect(sentListed).toMatchObject({ "x-api-key": "k", authorization: "Bearer secret" });
  expect(sentListed["cookie"]).toBeUndefined();
  expect(sentListed["content-type"]).toBeUndefined(); // a list replaces the default one
  const everything = await open({ allowedHeaders: "*" });
  const sentAll = echoOf((await everything.invoke({ operation: "get", data: new Uint8Array(), metadata })).data).headers;
  expect(sentAll).toMatchObject({ authorization: "Bearer secret", "x-api-key": "k", cookie: "session=1", "x-forwarded-for": "10.0.0.1", "x-request-id": "r" });
});

test("allowedHeaders limits which metadata become headers", async () => {
  const binding = await open({ allowedHeaders: "X-Request-Id, content-type" });
  const sent = echoOf(
    (await binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { "x-request-id": "r", "X-Api-Key": "k", "Content-Type": "a/b" } })).data,
  ).headers;
  expect(sent).toMatchObject({ "x-request-id": "r", "content-type": "a/b" });
  expect(sent["x-api-key"]).toBeUndefined();
});
