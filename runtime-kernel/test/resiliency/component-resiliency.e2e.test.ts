/**
 * The resiliency policies applied to component calls, as Dapr's
 * targets.components.<name>.outbound: through a runtime process and the layotto
 * proto over grpc-js, against real backends. The http output binding calls a
 * local HTTP service that fails on demand (a flaky binding succeeds after
 * retries, one without policies fails at once; a dead one trips its breaker, and
 * calls fail fast without reaching the service until the probe succeeds; a
 * binding whose service never answers times out at the policy's bound, not the
 * binding's own 30 s); a Redis state store paused with SIGSTOP times out at the
 * policy's bound and answers again once resumed.
 */
import * as grpc from "@grpc/grpc-js";
import { eventually, startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { layottoStub, rejection, unary, type RuntimeStub } from "../e2e/layotto-stub";
import { startService, type TestService } from "../invoke/support";
import { redisPid } from "../redis/support";

let service: TestService;
let redis: RedisServer;
let runtime: RunningRuntime;
let stub: RuntimeStub;
let pausedPid: number | undefined;
/** Per path: how many more requests fail with 500 before the service answers 200. */
const failing = new Map<string, number>();
let deadUp = false;

beforeAll(async () => {
  service = await startService((request, response) => {
    if (request.url === "/slow") return; // never answers
    if (request.url === "/dead" && !deadUp) {
      response.statusCode = 503;
      return response.end("down");
    }
    const left = failing.get(request.url) ?? 0;
    if (left > 0) {
      failing.set(request.url, left - 1);
      response.statusCode = 500;
      return response.end("not now");
    }
    response.end(`ok ${request.url}`);
  });
  redis = await startRedis();
  const binding = (path: string) => `{ type: http, metadata: { url: "${service.url}${path}" } }`;
  runtime = await startRuntime({
    config: `app: { id: guarded }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  binding:
    flaky: ${binding("/flaky")}
    unguarded: ${binding("/unguarded")}
    dead: ${binding("/dead")}
    slow: ${binding("/slow")}
  state:
    store: { type: redis, metadata: { redisHost: "${redis.host}:${redis.port}", readTimeout: 30s } }
resiliency:
  policies:
    timeouts: { short: 300ms }
    retries: { three: { policy: constant, duration: 10ms, maxRetries: 3 } }
    circuitBreakers: { twice: { maxRequests: 1, timeout: 300ms, trip: consecutiveFailures >= 2 } }
  targets:
    components:
      flaky: { outbound: { retry: three } }
      dead: { outbound: { circuitBreaker: twice } }
      slow: { outbound: { timeout: short } }
      store: { outbound: { timeout: short } }
      nothing: { outbound: { timeout: short } }
`,
  });
  stub = layottoStub(runtime.apiPort);
}, 30_000);

afterAll(async () => {
  if (pausedPid !== undefined) process.kill(pausedPid, "SIGCONT");
  stub?.close();
  await runtime?.stop();
  await Promise.all([service?.close(), redis?.stop()]);
});

const invoke = (name: string) => unary(stub, "InvokeBinding", { name, operation: "get", metadata: {}, data: Buffer.alloc(0) });
const requestsTo = (path: string) => service.received.filter((r) => r.url === path).length;
const text = (answer: { data?: unknown }) => Buffer.from(answer.data as Uint8Array).toString("utf8");

describe("resiliency policies on component calls (targets.components.<name>.outbound)", () => {
  it("retries a failing binding call: two 500s, then the third attempt succeeds", async () => {
    failing.set("/flaky", 2);
    expect(text(await invoke("flaky"))).toBe("ok /flaky");
    expect(requestsTo("/flaky")).toBe(3);
  });

  it("does not retry a component without policies (the sentinel: the same failure, one request)", async () => {
    failing.set("/unguarded", 2);
    const error = await rejection(invoke("unguarded"));
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toContain("answered 500");
    expect(requestsTo("/unguarded")).toBe(1);
  });

  it("trips the breaker of a dead binding: calls fail fast without reaching it until a probe succeeds", async () => {
    for (let i = 0; i < 2; i++) expect((await rejection(invoke("dead"))).details).toContain("answered 503");
    const reached = requestsTo("/dead");
    expect(reached).toBe(2);
    const open = await rejection(invoke("dead"));
    expect([open.code, open.details]).toEqual([
      grpc.status.UNAVAILABLE,
      "error when invoke output binding dead: circuit breaker 'twice' is open for 'dead': calls fail fast until a probe succeeds",
    ]);
    expect(requestsTo("/dead")).toBe(reached);
    deadUp = true;
    // Once the breaker's timeout has passed, one probe goes through; it succeeds and closes the breaker.
    await eventually(async () => expect(text(await invoke("dead"))).toBe("ok /dead"));
    expect(requestsTo("/dead")).toBe(reached + 1);
    expect(text(await invoke("dead"))).toBe("ok /dead");
  });

  it("cuts a binding call at the policy's timeout (the binding's own responseTimeout is 30 s)", async () => {
    const error = await rejection(invoke("slow"));
    expect([error.code, error.details]).toEqual([
      grpc.status.DEADLINE_EXCEEDED,
      "error when invoke output binding slow: 'slow' did not answer within 300 ms (resiliency timeout 'short')",
    ]);
    expect(requestsTo("/slow")).toBe(1);
  });

  it("cuts a read from a paused Redis at the policy's timeout, and reads again once Redis is resumed", async () => {
    await unary(stub, "SaveState", { store_name: "store", states: [{ key: "k", value: Buffer.from("v") }] });
    const pid = await redisPid(redis);
    process.kill(pid, "SIGSTOP");
    pausedPid = pid;
    try {
      const error = await rejection(unary(stub, "GetState", { store_name: "store", key: "k" }));
      expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(error.details).toContain("'store' did not answer within 300 ms (resiliency timeout 'short')");
    } finally {
      process.kill(pid, "SIGCONT");
      pausedPid = undefined;
    }
    await eventually(async () => expect(Buffer.from((await unary(stub, "GetState", { store_name: "store", key: "k" })).data as Uint8Array).toString()).toBe("v"));
  });

  it("warns about a component target that names no component", () => {
    expect(runtime.stderr()).toContain("ottavo: warning: resiliency targets.components.nothing names no component; its policies apply to nothing");
  });
});
