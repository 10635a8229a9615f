/**
 * Resiliency policies on InvokeService, configured in Dapr's shape in Ottavo
 * YAML, against a real HTTP service: a slow target times out at its bound, a
 * flaky one succeeds after retries, a dead one trips the breaker and calls fail
 * fast until the probe succeeds.
 */
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { HTTPExtension_Verb, InvokeServiceRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { eventually } from "@ottavo/test-support";
import { ConfigError } from "../../src/config/config-error";
import { parseOttavoConfig } from "../../src/config/ottavo-config";
import { createKernelHandlers } from "../../src/handlers/kernel-handlers";
import { createInvoker } from "../../src/invoke/invocation-setup";
import { contextFor, expectError } from "../handlers/support";
import { startService, type TestService } from "../invoke/support";

let service: TestService;
/** Per path: how many more times to fail (with the status) before answering 200. */
const failures = new Map<string, { left: number; status: number }>();
let healthy = true;

beforeAll(async () => {
  service = await startService((request, response) => {
    const path = request.url;
    if (path === "/slow") return; // never answers
    if (path === "/dead" && !healthy) {
      response.statusCode = 500;
      return response.end("down");
    }
    const failing = failures.get(path);
    if (failing !== undefined && failing.left > 0) {
      failing.left--;
      response.statusCode = failing.status;
      return response.end("not now");
    }
    response.end("ok");
  });
});
afterAll(() => service.close());

const config = () =>
  parseOttavoConfig(
    `
invoke:
  targets:
    slow: { url: "${service.url}" }
    flaky: { url: "${service.url}" }
    picky: { url: "${service.url}" }
    dead: { url: "${service.url}" }
resiliency:
  policies:
    timeouts: { fast: 150ms }
    retries:
      three: { policy: constant, duration: 5ms, maxRetries: 3 }
      on503: { policy: exponential, initialInterval: 1ms, maxInterval: 4ms, maxRetries: 3, matching: { httpStatusCodes: "503" } }
    circuitBreakers:
      cb: { maxRequests: 1, timeout: 200ms, trip: consecutiveFailures >= 3 }
  targets:
    apps:
      slow: { timeout: fast }
      flaky: { retry: three }
      picky: { retry: on503 }
      dead: { circuitBreaker: cb }
`,
    "r.yaml",
    "/",
  );

function kernel() {
  const parsed = config();
  const invoker = createInvoker(parsed.invoke, parsed.resiliency);
  return { invoker, handlers: createKernelHandlers(invoker) };
}

const call = (handlers: ReturnType<typeof kernel>["handlers"], id: string, method: string, verb = HTTPExtension_Verb.GET) =>
  handlers.invokeService(create(InvokeServiceRequestSchema, { id, message: { method, httpExtension: { verb } } }), contextFor("invokeService"));

const requestsTo = (path: string) => service.received.filter((r) => r.url === path).length;

describe("resiliency on InvokeService", () => {
  it("times a slow target out at the configured bound, and the service sees the call abandoned", async () => {
    const { invoker, handlers } = kernel();
    const abandoned = service.abandoned.length;
    await expectError(call(handlers, "slow", "slow"), Code.DeadlineExceeded, "'slow' did not answer within 150 ms (resiliency timeout 'fast')");
    await eventually(() => expect(service.abandoned.length).toBe(abandoned + 1));
    await invoker.targets.close();
  });

  it("retries a flaky target (GET, idempotent) until it answers", async () => {
    const { invoker, handlers } = kernel();
    failures.set("/flaky-get", { left: 2, status: 503 });
    const answer = await call(handlers, "flaky", "flaky-get");
    expect(Buffer.from(answer.data!.value!).toString()).toBe("ok");
    expect(requestsTo("/flaky-get")).toBe(3);
    await invoker.targets.close();
  });

  it("does not repeat a POST the target may have applied, unless the policy lists the status", async () => {
    const { invoker, handlers } = kernel();
    failures.set("/flaky-post", { left: 2, status: 503 });
    await expectError(call(handlers, "flaky", "flaky-post", HTTPExtension_Verb.POST), Code.Unavailable, "Service Unavailable");
    expect(requestsTo("/flaky-post")).toBe(1);
    failures.set("/picky-post", { left: 2, status: 503 });
    await call(handlers, "picky", "picky-post", HTTPExtension_Verb.POST);
    expect(requestsTo("/picky-post")).toBe(3);
    // Statuses the policy does not list are not retried, even for GET.
    failures.set("/picky-500", { left: 1, status: 500 });
    await expectError(call(handlers, "picky", "picky-500"), Code.Unknown, "Internal Server Error");
    expect(requestsTo("/picky-500")).toBe(1);
    await invoker.targets.close();
  });

  it("trips the breaker on a dead target: calls fail fast without reaching it until the probe succeeds", async () => {
    const { invoker, handlers } = kernel();
    healthy = false;
    for (let i = 0; i < 3; i++) await expectError(call(handlers, "dead", "dead"), Code.Unknown, "Internal Server Error");
    const reached = requestsTo("/dead");
    const open = "circuit breaker 'cb' is open for 'dead': calls fail fast until a probe succeeds";
    await expectError(call(handlers, "dead", "dead"), Code.Unavailable, open);
    await expectError(call(handlers, "dead", "dead"), Code.Unavailable, open);
    expect(requestsTo("/dead")).toBe(reached);
    healthy = true;
    // Once the breaker's timeout has passed, one probe goes through; it succeeds and closes the breaker.
    await eventually(async () => expect(Buffer.from((await call(handlers, "dead", "dead")).data!.value!).toString()).toBe("ok"));
    expect(requestsTo("/dead")).toBe(reached + 1);
    await call(handlers, "dead", "dead");
    await invoker.targets.close();
  });
});

describe("the resiliency section", () => {
  it("accepts Dapr's whole Resiliency document and reads Dapr's defaults", () => {
    const parsed = parseOttavoConfig(
      `
resiliency:
  apiVersion: dapr.io/v1alpha1
  kind: Resiliency
  metadata: { name: r }
  spec:
    policies:
      retries: { forever: { policy: exponential } }
      circuitBreakers: { cb: {} }
    targets:
      apps: { b: { retry: forever, circuitBreaker: cb, timeout: 2s } }
      components: { statestore: { outbound: { retry: forever } }, orders: { inbound: { timeout: 2s, circuitBreaker: cb } } }
`,
      "d.yaml",
      "/",
    );
    expect(parsed.resiliency.apps.get("b")).toEqual({
      timeoutMs: 2000,
      timeoutName: "2s",
      retry: { name: "forever", policy: "exponential", durationMs: 5000, initialIntervalMs: 500, maxIntervalMs: 60_000, maxRetries: -1 },
      circuitBreaker: { name: "cb", maxRequests: 1, intervalMs: 0, timeoutMs: 60_000, tripAfter: 5 },
    });
    expect(parsed.resiliency.components.get("statestore")).toEqual({
      retry: { name: "forever", policy: "exponential", durationMs: 5000, initialIntervalMs: 500, maxIntervalMs: 60_000, maxRetries: -1 },
    });
    expect(parsed.resiliency.inbound.get("statestore")).toBeUndefined();
    expect(parsed.resiliency.components.get("orders")).toBeUndefined();
    expect(parsed.resiliency.inbound.get("orders")).toEqual({
      timeoutMs: 2000,
      timeoutName: "2s",
      circuitBreaker: { name: "cb", maxRequests: 1, intervalMs: 0, timeoutMs: 60_000, tripAfter: 5 },
    });
    expect(parsed.warnings).toEqual([]);
  });

  it("names every problem", () => {
    let problems: readonly string[] = [];
    try {
      parseOttavoConfig(
        `
resiliency:
  policies:
    timeouts: { t: soon }
    retries: { r: { policy: linear, maxRetries: -2, matching: { httpStatusCodes: "600" } } }
    circuitBreakers: { cb: { trip: "requests > 3", maxRequests: 0 } }
  targets:
    apps: { b: { retry: nope, circuitBreaker: nope, timeout: nope, extra: 1 } }
    components: { s: { outbound: { retry: nope }, inbound: { circuitBreaker: nope } }, t: { outbound: {}, sideways: {} }, u: nope }
`,
        "e.yaml",
        "/",
      );
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      "e.yaml: 'resiliency.policies.timeouts.t' must be a positive duration such as \"5s\" or \"250ms\"",
      "e.yaml: 'resiliency.policies.retries.r.policy' must be constant or exponential",
      "e.yaml: 'resiliency.policies.retries.r.maxRetries' must be -1 (retry until the caller's deadline) or a count from 0",
      "e.yaml: 'resiliency.policies.retries.r.matching.httpStatusCodes' must list codes or ranges from 100 to 599, e.g. \"429,500-599\"",
      "e.yaml: 'resiliency.policies.circuitBreakers.cb.maxRequests' must be a count from 1",
      "e.yaml: 'resiliency.policies.circuitBreakers.cb.trip' must read \"consecutiveFailures > N\" or \"consecutiveFailures >= N\"",
      "e.yaml: unknown key 'resiliency.targets.apps.b.extra'; known: timeout, retry, circuitBreaker, circuitBreakerCacheSize",
      "e.yaml: 'resiliency.targets.apps.b.timeout' names no timeout policy under resiliency.policies.timeouts",
      "e.yaml: 'resiliency.targets.apps.b.retry' names no retry policy under resiliency.policies.retries",
      "e.yaml: 'resiliency.targets.apps.b.circuitBreaker' names no circuit breaker under resiliency.policies.circuitBreakers",
      "e.yaml: 'resiliency.targets.components.s.outbound.retry' names no retry policy under resiliency.policies.retries",
      "e.yaml: 'resiliency.targets.components.s.inbound.circuitBreaker' names no circuit breaker under resiliency.policies.circuitBreakers",
      "e.yaml: unknown key 'resiliency.targets.components.t.sideways'; known: outbound, inbound",
      "e.yaml: 'resiliency.targets.components.u' must be a map with outbound and/or inbound: { timeout, retry, circuitBreaker }",
    ]);
  });
});
