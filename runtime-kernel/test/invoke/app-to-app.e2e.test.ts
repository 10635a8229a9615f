/**
 * App to app through two runtimes found by Redis name resolution: app "a" calls
 * app "b" through runtime A, which resolves "b" in Redis to runtime B, which
 * delivers to b's HTTP port; the answer travels back. Runtimes register
 * themselves, leave at shutdown, and drop out within the ttl when killed.
 */
import * as grpc from "@grpc/grpc-js";
import { Client, RuntimeTypes } from "layotto";
import { Redis } from "ioredis";
import { eventually, startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { layottoStub, rejection, unary } from "../e2e/layotto-stub";
import { startService, type ServiceRequest, type TestService } from "./support";

const { Verb } = RuntimeTypes.HTTPExtension;

let redis: RedisServer;
let raw: Redis;
let appA: TestService;
let appB: TestService;
let runtimeA: RunningRuntime;
let runtimeB: RunningRuntime;
let client: Client;

/** An app: answers with its name, the path and what reached it. */
const app = (name: string) => (request: ServiceRequest, response: import("node:http").ServerResponse) => {
  if (request.url === "/slow") return; // never answers
  if (request.url === "/missing") {
    response.statusCode = 404;
    return response.end(`${name} has no such thing`);
  }
  response.setHeader("content-type", "application/json");
  response.setHeader("x-app", name);
  response.end(
    JSON.stringify({
      app: name,
      method: request.method,
      url: request.url,
      body: request.body.toString("utf8"),
      caller: request.headers["x-caller"] ?? null,
      leaked: ["dapr-api-token", "ottavo-invoke-hops"].filter((h) => h in request.headers),
    }),
  );
};

const runtimeConfig = (id: string, appPort: number) => `app: { id: ${id}, httpPort: ${appPort} }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
invoke: { token: runtimes-s3cret }
components:
  nameresolution:
    redis: { type: redis, metadata: { redisHost: "127.0.0.1:${redis.port}", ttl: 1500ms, cacheTtl: 100ms } }
`;

const startB = () => startRuntime({ config: runtimeConfig("b", appB.port) });
const registered = (appId: string) => raw.zrange(`ottavo|nameresolution|${appId}`, 0, -1);

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis({ host: redis.host, port: redis.port });
  [appA, appB] = await Promise.all([startService(app("a")), startService(app("b"))]);
  [runtimeA, runtimeB] = await Promise.all([startRuntime({ config: runtimeConfig("a", appA.port) }), startB()]);
  client = new Client(String(runtimeA.apiPort), "127.0.0.1");
});

afterAll(async () => {
  client?.close();
  await Promise.all([runtimeA?.stop(), runtimeB?.stop()]);
  raw?.disconnect();
  await Promise.all([appA?.close(), appB?.close(), redis?.stop()]);
});

const callB = (method = "/hello") =>
  client.invoker.invoke({ id: "b", method, httpVerb: Verb.POST, data: { from: "a" }, requestMeta: { "x-caller": "app-a" } });

describe("app to app through two runtimes on Redis name resolution", () => {
  it("registers each runtime's API address under its app id", async () => {
    expect(await registered("a")).toEqual([`127.0.0.1:${runtimeA.apiPort}`]);
    expect(await registered("b")).toEqual([`127.0.0.1:${runtimeB.apiPort}`]);
  });

  it("delivers a call for b to b's app through its runtime, and the answer back, without the runtimes' own headers", async () => {
    const answer = await callB();
    expect(answer).toEqual({
      contentType: "application/json",
      content: { app: "b", method: "POST", url: "/hello", body: '{"from":"a"}', caller: "app-a", leaked: [] },
    });
    // And the other way round, through the same two runtimes.
    const back = new Client(String(runtimeB.apiPort), "127.0.0.1");
    expect((await back.invoker.invoke({ id: "a", method: "/ping" })).content).toMatchObject({ app: "a", method: "GET", url: "/ping" });
    back.close();
  });

  it("brings b's error answer back through both runtimes: status and body", async () => {
    const error = (await callB("/missing").catch((e: unknown) => e)) as grpc.ServiceError;
    expect([error.code, error.details, error.metadata.get("dapr-http-status")]).toEqual([grpc.status.NOT_FOUND, "Not Found", ["404"]]);
    expect(Buffer.from(error.metadata.get("grpc-status-details-bin")[0] as Buffer).toString("latin1")).toContain("b has no such thing");
  });

  it("a caller's deadline cuts the call through both runtimes: the app sees its request abandoned", async () => {
    const stub = layottoStub(runtimeA.apiPort);
    const abandoned = appB.abandoned.length;
    const error = await rejection(
      new Promise((resolve, reject) =>
        (stub.InvokeService as (...args: unknown[]) => void).call(
          stub,
          { id: "b", message: { method: "slow" } },
          new grpc.Metadata(),
          { deadline: Date.now() + 300 },
          (e: unknown, r: unknown) => (e ? reject(e) : resolve(r)),
        ),
      ),
    );
    stub.close();
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await eventually(() => expect(appB.abandoned.length).toBe(abandoned + 1));
  });

  it("refuses a forwarded call without the runtimes' token", async () => {
    const stub = layottoStub(runtimeB.apiPort);
    const metadata = new grpc.Metadata();
    metadata.set("ottavo-invoke-hops", "1");
    const error = await rejection(
      new Promise((resolve, reject) =>
        (stub.InvokeService as (...args: unknown[]) => void).call(stub, { id: "b", message: { method: "x" } }, metadata, (e: unknown, r: unknown) =>
          e ? reject(e) : resolve(r),
        ),
      ),
    );
    stub.close();
    expect([error.code, error.details]).toEqual([
      grpc.status.UNAUTHENTICATED,
      "a call forwarded by another runtime must carry this runtime's token (dapr-api-token)",
    ]);
    // A direct call from an app needs no runtime token.
    const direct = layottoStub(runtimeB.apiPort);
    expect(await unary(direct, "InvokeService", { id: "b", message: { method: "direct" } })).toMatchObject({ content_type: "application/json" });
    direct.close();
  });

  it("a runtime that stops leaves name resolution at once; calls for its app are UNAVAILABLE until it is back", async () => {
    expect(await runtimeB.stop()).toBe(0);
    expect(await registered("b")).toEqual([]);
    await eventually(async () => {
      const error = (await callB().catch((e: unknown) => e)) as grpc.ServiceError;
      expect([error.code, error.details]).toEqual([grpc.status.UNAVAILABLE, "no runtime of app 'b' is registered (nameresolution 'redis')"]);
    });
    runtimeB = await startB();
    await eventually(async () => expect((await callB()).content).toMatchObject({ app: "b" }));
  });

  it("a runtime killed with SIGKILL: calls fail with UNAVAILABLE (never anything else) until its entry expires, then succeed once it is back", async () => {
    await runtimeB.stop("SIGKILL");
    // Its entry is still there (nobody removed it): calls go to a dead address.
    expect(await registered("b")).toEqual([`127.0.0.1:${runtimeB.apiPort}`]);
    const codes = new Set<number>();
    const messages = new Set<string>();
    await eventually(
      async () => {
        const error = (await callB().catch((e: unknown) => e)) as grpc.ServiceError;
        codes.add(error.code);
        messages.add(error.details.replace(/\d+/g, "N"));
        expect(error.details).toBe("no runtime of app 'b' is registered (nameresolution 'redis')");
      },
      10_000,
      50,
    );
    expect([...codes]).toEqual([grpc.status.UNAVAILABLE]);
    // Within the ttl the dead address is still tried (connection refused); after it, nobody is registered.
    for (const message of messages) {
      expect(message).toMatch(/^(cannot call the runtime of app 'b' at N\.N\.N\.N:N: connect ECONNREFUSED|no runtime of app 'b' is registered)/);
    }
    runtimeB = await startB();
    await eventually(async () => expect((await callB()).content).toMatchObject({ app: "b" }));
  });
});

describe("a static name resolution table", () => {
  let runtimeC: RunningRuntime;
  let stub: ReturnType<typeof layottoStub>;
  beforeAll(async () => {
    runtimeC = await startRuntime({
      config: `app: { id: c }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
invoke: { token: runtimes-s3cret }
components:
  nameresolution:
    table: { type: static, apps: { b: "127.0.0.1:${runtimeB.apiPort}" } }
`,
    });
    stub = layottoStub(runtimeC.apiPort);
  });
  afterAll(async () => {
    stub?.close();
    expect(await runtimeC?.stop()).toBe(0);
  });

  it("reaches b through the runtime the table names", async () => {
    const answer = await unary(stub, "InvokeService", { id: "b", message: { method: "static" } });
    expect(JSON.parse(Buffer.from((answer.data as { value: Buffer }).value).toString("utf8"))).toMatchObject({ app: "b", url: "/static" });
  });

  it("answers UNAVAILABLE for an app the table does not list, and FAILED_PRECONDITION for its own app without an HTTP port", async () => {
    const unknown = await rejection(unary(stub, "InvokeService", { id: "d", message: { method: "x" } }));
    expect([unknown.code, unknown.details]).toEqual([grpc.status.UNAVAILABLE, "no runtime of app 'd' is registered (nameresolution 'table')"]);
    const own = await rejection(unary(stub, "InvokeService", { id: "c", message: { method: "x" } }));
    expect([own.code, own.details]).toEqual([
      grpc.status.FAILED_PRECONDITION,
      "app 'c' is served by this runtime, which has no app HTTP port to deliver to (set app.httpPort)",
    ]);
  });

  it("never forwards a call that another runtime forwarded already (no loops)", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("ottavo-invoke-hops", "1");
    metadata.set("dapr-api-token", "runtimes-s3cret");
    const error = await rejection(
      new Promise((resolve, reject) =>
        (stub.InvokeService as (...args: unknown[]) => void).call(stub, { id: "b", message: { method: "x" } }, metadata, (e: unknown, r: unknown) =>
          e ? reject(e) : resolve(r),
        ),
      ),
    );
    expect([error.code, error.details]).toEqual([
      grpc.status.UNAVAILABLE,
      "this runtime serves app 'c', not 'b': a forwarded call is only delivered to the local app (a stale name resolution entry?)",
    ]);
  });
});

describe("runtimes that share an API token (OTTAVO_API_TOKEN) and no invoke token", () => {
  const env = { OTTAVO_API_TOKEN: "api-s3cret" };
  let runtimeE: RunningRuntime;
  let runtimeF: RunningRuntime;
  beforeAll(async () => {
    runtimeE = await startRuntime({ env, config: `app: { id: e, httpPort: ${appB.port} }\napi: { address: 127.0.0.1:0 }\nactuator: { address: 127.0.0.1:0 }\n` });
    runtimeF = await startRuntime({
      env,
      config: `app: { id: f }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  nameresolution:
    table: { type: static, apps: { e: "127.0.0.1:${runtimeE.apiPort}" } }
`,
    });
  });
  afterAll(async () => {
    expect(await Promise.all([runtimeE?.stop(), runtimeF?.stop()])).toEqual([0, 0]);
  });

  it("forward calls with that token: the app's call with it gets through both, one without it is refused at the first", async () => {
    const withToken = new Client(String(runtimeF.apiPort), "127.0.0.1");
    const answer = await withToken.invoker.invoke({ id: "e", method: "/token", requestMeta: { "dapr-api-token": "api-s3cret" } });
    expect(answer.content).toMatchObject({ app: "b", url: "/token", leaked: [] });
    const refused = (await withToken.invoker.invoke({ id: "e", method: "/token" }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
    withToken.close();
  });
});
