/**
 * The address a runtime registers with Redis name resolution: invoke.advertiseAddress
 * when configured (here 127.0.0.2, another loopback address than the one the
 * caller would guess, on the API's bound port), else the API's address as bound;
 * a runtime bound to every interface registers loopback and says so. (The
 * runtimes bound to 0.0.0.0 say api.insecure: true, which the runtime asks for
 * before it listens beyond loopback in plaintext without a token.)
 */
import { Client } from "layotto";
import { Redis } from "ioredis";
import { advertisedAddress } from "../../src/invoke/invocation-setup";
import { startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { startService, type TestService } from "./support";

let redis: RedisServer;
let raw: Redis;
let app: TestService;
const runtimes: RunningRuntime[] = [];

const config = (id: string, api: string, invoke = "") => `app: { id: ${id}, httpPort: ${app.port} }
api: { address: "${api}"${api.startsWith("0.0.0.0") ? ", insecure: true" : ""} }
actuator: { address: 127.0.0.1:0 }
invoke: { token: runtimes-s3cret${invoke} }
components:
  nameresolution:
    redis: { type: redis, metadata: { redisHost: "127.0.0.1:${redis.port}", ttl: 5s, cacheTtl: 0s } }
`;

async function start(id: string, api: string, invoke = ""): Promise<RunningRuntime> {
  const runtime = await startRuntime({ config: config(id, api, invoke) });
  runtimes.push(runtime);
  return runtime;
}

const registered = (appId: string) => raw.zrange(`ottavo|nameresolution|${appId}`, 0, -1);

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis({ host: redis.host, port: redis.port });
  app = await startService((request, response) => {
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ url: request.url, host: request.headers.host ?? null }));
  });
});

afterAll(async () => {
  await Promise.all(runtimes.map((runtime) => runtime.stop()));
  raw?.disconnect();
  await Promise.all([app?.close(), redis?.stop()]);
});

describe("the address a runtime registers with Redis name resolution", () => {
  it("is invoke.advertiseAddress (port from the API when left out), and other runtimes call it there", async () => {
    const b = await start("advertised-b", "0.0.0.0:0", ", advertiseAddress: 127.0.0.2");
    expect(await registered("advertised-b")).toEqual([`127.0.0.2:${b.apiPort}`]);
    expect(b.stderr()).not.toContain("listens on every interface");
    const a = await start("advertised-a", "127.0.0.1:0");
    const client = new Client(String(a.apiPort), "127.0.0.1");
    try {
      const answer = await client.invoker.invoke({ id: "advertised-b", method: "/where" });
      expect(answer.content).toMatchObject({ url: "/where" });
    } finally {
      client.close();
    }
  });

  it("is the API's address as bound by default", async () => {
    const c = await start("bound-c", "127.0.0.1:0");
    expect(await registered("bound-c")).toEqual([`127.0.0.1:${c.apiPort}`]);
    expect(c.stderr()).not.toContain("listens on every interface");
  });

  it("is loopback, with a warning naming invoke.advertiseAddress, when the API listens on every interface", async () => {
    const d = await start("wildcard-d", "0.0.0.0:0");
    expect(await registered("wildcard-d")).toEqual([`127.0.0.1:${d.apiPort}`]);
    expect(d.stderr()).toContain(
      `ottavo: warning: the API listens on every interface (0.0.0.0:${d.apiPort}), which is no address to dial; registering 127.0.0.1:${d.apiPort}, ` +
        "which only runtimes on this machine can reach (set invoke.advertiseAddress to the address other runtimes should call)",
    );
  });
});

describe("advertisedAddress", () => {
  it("takes the configured host and port, or the API's port, and never a wildcard", () => {
    const api = { kind: "tcp", host: "0.0.0.0", port: 34904 } as const;
    expect(advertisedAddress(api, { host: "10.0.0.5", port: 4000 })).toEqual({ address: "10.0.0.5:4000" });
    expect(advertisedAddress(api, { host: "fd00::5" })).toEqual({ address: "[fd00::5]:34904" });
    expect(advertisedAddress({ kind: "tcp", host: "10.0.0.7", port: 1 })).toEqual({ address: "10.0.0.7:1" });
    expect(advertisedAddress({ kind: "tcp", host: "::", port: 2 })).toMatchObject({ address: "[::1]:2" });
    expect(advertisedAddress({ kind: "tcp", host: "", port: 3 })).toMatchObject({ address: "127.0.0.1:3" });
    expect(advertisedAddress({ kind: "unix", path: "/tmp/api.sock" })).toEqual({
      warning: expect.stringContaining("the API listens on a Unix socket") as string,
    });
    expect(advertisedAddress({ kind: "unix", path: "/tmp/api.sock" }, { host: "10.0.0.5", port: 4000 })).toEqual({ address: "10.0.0.5:4000" });
  });
});
