/**
 * InvokeService to HTTP services, through the kernel's handler and a real HTTP
 * server on loopback: the mapping of request and answer, metadata both ways,
 * Dapr's status mapping, timeouts, cancellation and a large body.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  HTTPExtension_Verb,
  InvokeServiceRequestSchema,
  type InvokeServiceRequest,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createKernelHandlers } from "../../src/handlers/kernel-handlers";
import { createInvoker } from "../../src/invoke/invocation-setup";
import type { InvocationRequest } from "../../src/invoke/invocation";
import { eventually } from "@ottavo/test-support";
import { contextFor, expectError } from "../handlers/support";
import { closedPort, decodeErrorInfo, echo, startService, type TestService } from "./support";

let service: TestService;
let slow: TestService;

beforeAll(async () => {
  service = await startService((request, response) => {
    const path = request.url.split("?")[0];
    if (path.startsWith("/status/")) {
      response.statusCode = Number(path.slice("/status/".length));
      response.setHeader("content-type", "text/plain");
      response.setHeader("x-why", "asked");
      response.end(`status ${response.statusCode} body`);
      return;
    }
    echo(request, response);
  });
  slow = await startService(() => undefined); // never answers
});

afterAll(async () => {
  await service.close();
  await slow.close();
});

function handlers(extra: { timeoutMs?: number } = {}) {
  const invoker = createInvoker({
    targets: [
      { id: "echo", url: service.url, idHeader: false },
      { id: "echo-base", url: `${service.url}/base/`, idHeader: true },
      { id: "slow", url: slow.url, idHeader: false, ...extra },
    ],
  });
  return { invoker, kernel: createKernelHandlers(invoker) };
}

const request = (init: MessageInitShape<typeof InvokeServiceRequestSchema>): InvokeServiceRequest =>
  create(InvokeServiceRequestSchema, init);
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined) => Buffer.from(data ?? new Uint8Array()).toString("utf8");

describe("InvokeService to an HTTP service", () => {
  it("POSTs the data to the method's path when no verb is given, and answers body, content type and headers", async () => {
    const { kernel, invoker } = handlers();
    const context = contextFor("invokeService", {
      headers: { "x-trace": "t1", "dapr-api-token": "secret", te: "trailers", "grpc-timeout": "5S", "ottavo-invoke-hops": "0" },
    });
    const answer = await kernel.invokeService(
      request({ id: "echo", message: { method: "orders/1", contentType: "application/json", data: { value: bytes('{"a":1}') } } }),
      context,
    );
    expect(text(answer.data?.value)).toBe('{"a":1}');
    expect(answer.contentType).toBe("application/json");
    expect(context.responseHeader.get("x-echo-method")).toBe("POST");
    expect(context.responseHeader.get("x-echo-url")).toBe("/orders/1");
    expect(context.responseHeader.get("dapr-http-status")).toBe("200");
    expect(context.responseHeader.get("content-length")).toBeNull();
    const received = service.received.at(-1)!;
    expect(received.headers["x-trace"]).toBe("t1");
    for (const dropped of ["dapr-api-token", "te", "grpc-timeout", "ottavo-invoke-hops", "id"]) {
      expect(received.headers[dropped]).toBeUndefined();
    }
    await invoker.targets.close();
  });

  it("uses the verb and query string, and a query written in the method", async () => {
    const { kernel, invoker } = handlers();
    for (const [verb, name] of [
      [HTTPExtension_Verb.GET, "GET"],
      [HTTPExtension_Verb.PUT, "PUT"],
      [HTTPExtension_Verb.DELETE, "DELETE"],
      [HTTPExtension_Verb.PATCH, "PATCH"],
    ] as const) {
      const context = contextFor("invokeService");
      await kernel.invokeService(
        request({ id: "echo", message: { method: "/items", httpExtension: { verb, querystring: "a=1&b=x%20y" } } }),
        context,
      );
      expect([context.responseHeader.get("x-echo-method"), context.responseHeader.get("x-echo-url")]).toEqual([
        name,
        "/items?a=1&b=x%20y",
      ]);
    }
    const context = contextFor("invokeService");
    await kernel.invokeService(
      request({ id: "echo", message: { method: "/items?page=2", httpExtension: { verb: HTTPExtension_Verb.GET, querystring: "a=1" } } }),
      context,
    );
    expect(context.responseHeader.get("x-echo-url")).toBe("/items?page=2&a=1");
    await invoker.targets.close();
  });

  it("appends the method to the target's base path and sends the id header when configured so (Layotto)", async () => {
    const { kernel, invoker } = handlers();
    const context = contextFor("invokeService");
    await kernel.invokeService(request({ id: "echo-base", message: { method: "hello" } }), context);
    expect(context.responseHeader.get("x-echo-url")).toBe("/base/hello");
    expect(service.received.at(-1)!.headers.id).toBe("echo-base");
    await invoker.targets.close();
  });

  it("maps non-2xx answers as Dapr does, with the status and the body in the error", async () => {
    const { kernel, invoker } = handlers();
    const cases: Array<[number, Code]> = [
      [404, Code.NotFound],
      [500, Code.Unknown],
      [400, Code.Internal],
      [401, Code.Unauthenticated],
      [403, Code.PermissionDenied],
      [409, Code.AlreadyExists],
      [429, Code.ResourceExhausted],
      [501, Code.Unimplemented],
      [503, Code.Unavailable],
      [504, Code.DeadlineExceeded],
      [418, Code.Unknown],
      [302, Code.Unknown],
    ];
    for (const [status, code] of cases) {
      const error = await expectError(
        kernel.invokeService(request({ id: "echo", message: { method: `status/${status}` } }), contextFor("invokeService")),
        code,
        /./,
      );
      expect(error.metadata.get("dapr-http-status")).toBe(String(status));
      expect(error.metadata.get("x-why")).toBe("asked");
      const detail = error.details[0] as { type: string; value: Uint8Array };
      expect(detail.type).toBe("google.rpc.ErrorInfo");
      expect(decodeErrorInfo(detail.value)).toEqual({
        reason: error.rawMessage,
        domain: "dapr.io",
        metadata: { "http.code": String(status), "http.error_message": `status ${status} body` },
      });
    }
    await invoker.targets.close();
  });

  it("answers UNAVAILABLE when nothing listens at the target", async () => {
    const port = await closedPort();
    const invoker = createInvoker({ targets: [{ id: "gone", url: `http://127.0.0.1:${port}`, idHeader: false }] });
    await expectError(
      createKernelHandlers(invoker).invokeService(request({ id: "gone", message: { method: "x" } }), contextFor("invokeService")),
      Code.Unavailable,
      new RegExp(`^cannot call HTTP service 'gone' \\(http://127.0.0.1:${port}\\): connect ECONNREFUSED`),
    );
    await invoker.targets.close();
  });

  it("cuts a call at the target's timeout with DEADLINE_EXCEEDED, and the service sees the connection close", async () => {
    const { kernel, invoker } = handlers({ timeoutMs: 100 });
    const before = slow.abandoned.length;
    await expectError(
      kernel.invokeService(request({ id: "slow", message: { method: "x" } }), contextFor("invokeService")),
      Code.DeadlineExceeded,
      `HTTP service 'slow' (${slow.url}) did not answer within 100 ms`,
    );
    await eventually(() => expect(slow.abandoned.length).toBeGreaterThan(before));
    await invoker.targets.close();
  });

  it("stops waiting when the caller's deadline passes", async () => {
    const { kernel, invoker } = handlers();
    const caller = new AbortController();
    const call = kernel.invokeService(request({ id: "slow", message: { method: "x" } }), contextFor("invokeService", { signal: caller.signal }));
    const seen = slow.received.length;
    await eventually(() => expect(slow.received.length).toBeGreaterThan(seen));
    caller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    await expectError(call, Code.DeadlineExceeded, "the operation timed out");
    await invoker.targets.close();
  });

  it("carries an 8 MiB body there and back intact", async () => {
    const { kernel, invoker } = handlers();
    const body = new Uint8Array(8 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 13)) & 0xff;
    const answer = await kernel.invokeService(
      request({ id: "echo", message: { method: "big", contentType: "application/octet-stream", data: { value: body } } }),
      contextFor("invokeService"),
    );
    expect(Buffer.compare(Buffer.from(answer.data!.value!), Buffer.from(body))).toBe(0);
    await invoker.targets.close();
  });
});

describe("the invocation target registry", () => {
  it("calls a registered target (the hook wasm functions use), refuses a second one under the same id, and forgets it on unregister", async () => {
    const { kernel, invoker } = handlers();
    const seen: InvocationRequest[] = [];
    const unregister = invoker.targets.register("fn", {
      description: "function 'fn'",
      invoke: async (call) => {
        seen.push(call);
        return { status: 200, contentType: "text/plain", data: bytes(`hi ${text(call.data)}`), headers: [["x-fn", "1"]] };
      },
    });
    expect(() => invoker.targets.register("fn", { description: "another", invoke: async () => Promise.reject(new Error()) })).toThrow(
      "invocation target 'fn' is already registered (function 'fn')",
    );
    const context = contextFor("invokeService");
    const answer = await kernel.invokeService(request({ id: "fn", message: { method: "greet", data: { value: bytes("bob") } } }), context);
    expect([text(answer.data?.value), answer.contentType, context.responseHeader.get("x-fn")]).toEqual(["hi bob", "text/plain", "1"]);
    expect(seen[0]).toMatchObject({ id: "fn", method: "greet", verb: "POST", hops: 0 });
    unregister();
    await expectError(
      kernel.invokeService(request({ id: "fn", message: { method: "greet" } }), contextFor("invokeService")),
      Code.NotFound,
      /^no invocation target 'fn'/,
    );
    await invoker.targets.close();
  });

  it("sends ids nobody registered to the fallback (Layotto's channel dialled directly), with the id header", async () => {
    const invoker = createInvoker({ targets: [], fallback: { url: service.url, idHeader: true } });
    const context = contextFor("invokeService");
    await createKernelHandlers(invoker).invokeService(request({ id: "HelloService:1.0", message: { method: "/hello" } }), context);
    expect(context.responseHeader.get("x-echo-url")).toBe("/hello");
    expect(service.received.at(-1)!.headers.id).toBe("HelloService:1.0");
    await invoker.targets.close();
  });
});
