import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
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

beforeAll(async () => {
  server = http.createServer((req, res) => {
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
      } else {
        const echo: Echo = { method: req.method!, url: req.url!, headers: req.headers, body };
        res.writeHead(201, { "content-type": "application/json" });
        res.end(req.method === "HEAD" ? undefined : JSON.stringify(echo));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const binding of opened.splice(0)) await binding.close();
  for (const res of pending) res.destroy();
  pending.clear();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function open(metadata: Record<string, unknown> = {}): Promise<OutputBinding> {
  const binding = await httpBindingAdapter.create({ url: `${baseUrl}/api/`, ...metadata }, context);
  opened.push(binding);
  return binding;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const echoOf = (data: Uint8Array) => JSON.parse(Buffer.from(data).toString()) as Echo;

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected a rejection");
}

test("is registered as the 'http' binding with no features", async () => {
  expect(httpAdapters.map((a) => `${a.capability}/${a.type}`)).toEqual(["binding/http"]);
  expect((await open()).features.size).toBe(0);
});

test("get appends the path to the url, sends metadata as headers and answers statusCode", async () => {
  const binding = await open();
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
  const binding = await open();
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
  expect(err.code).toBe(Code.Unavailable);
  expect(err.rawMessage).toMatch(new RegExp(`^http binding: POST ${baseUrl}/status/404 answered 404: failure details x+$`));
  expect(err.rawMessage.length).toBeLessThan(700);

  const server500 = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "status/503" } }));
  expect(server500.rawMessage).toContain("answered 503");
});

test("a request slower than responseTimeout fails as UNAVAILABLE naming the timeout", async () => {
  const binding = await open({ responseTimeout: "200ms" });
  const started = Date.now();
  const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "slow" } }));
  expect(err.code).toBe(Code.Unavailable);
  expect(err.rawMessage).toContain("timed out after 200 ms");
  expect(Date.now() - started).toBeLessThan(5000);
});

test("close cancels requests in flight", async () => {
  const binding = await open();
  const call = failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "slow" } }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await binding.close();
  const err = await call;
  expect(err.code).toBe(Code.Unavailable);
  expect(err.rawMessage).toContain("the binding is closing");
});

test("a body larger than maxResponseBytes is refused", async () => {
  const binding = await open({ maxResponseBytes: 1000 });
  const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "big" } }));
  expect(err.code).toBe(Code.Unavailable);
  expect(err.rawMessage).toContain("larger than maxResponseBytes (1000 bytes)");
  const roomy = await open({ maxResponseBytes: 4096 });
  expect((await roomy.invoke({ operation: "get", data: new Uint8Array(), metadata: { path: "big" } })).data.byteLength).toBe(4096);
});

test("an unsupported operation fails with INVALID_ARGUMENT listing the supported ones", async () => {
  const err = await failure((await open()).invoke({ operation: "create", data: new Uint8Array(), metadata: {} }));
  expect(err.code).toBe(Code.InvalidArgument);
  expect(err.rawMessage).toContain("get, head, post, put, patch, delete, options, trace");
});

test("an endpoint nobody listens on fails as UNAVAILABLE", async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const binding = await httpBindingAdapter.create({ url: `http://127.0.0.1:${port}` }, context);
  opened.push(binding);
  const err = await failure(binding.invoke({ operation: "get", data: new Uint8Array(), metadata: {} }));
  expect(err.code).toBe(Code.Unavailable);
  expect(err.rawMessage).toMatch(/failed: .*ECONNREFUSED/);
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
