/**
 * Cancellation (issue 9, item 3): the call's deadline reaches the adapter. A
 * client deadline of 50 ms on GetState against a Redis that does not answer
 * (paused with SIGSTOP) ends with DEADLINE_EXCEEDED at about 50 ms, on the gRPC
 * fast path and on Connect-ES, not after the adapter's readTimeout (30 s here).
 * The bound asserted is far from both figures, so a loaded machine cannot flip it.
 */
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { startRedis, startRuntime, type RedisServer, type RunningRuntime } from "@ottavo/test-support";
import { decode, encode, eventually, failedCall, redisConfig, redisPid } from "./support";

const readTimeoutMs = 30_000;
const deadlineMs = 50;
/** Far below readTimeout: a call that waited for Redis could not end within it. */
const boundMs = 5_000;

let redis: RedisServer;
let runtime: RunningRuntime;
let pausedPid: number | undefined;

beforeAll(async () => {
  redis = await startRedis();
  runtime = await startRuntime({
    config: redisConfig(redis, { capabilities: ["state"], metadata: { readTimeout: `${readTimeoutMs}ms` } }),
  });
}, 30_000);

afterAll(async () => {
  if (pausedPid !== undefined) process.kill(pausedPid, "SIGCONT");
  try {
    if (runtime) expect(await runtime.stop()).toBe(0);
  } finally {
    await redis?.stop();
  }
});

const transports: Array<[string, () => Transport]> = [
  ["gRPC (fast path)", () => createGrpcTransport({ baseUrl: runtime.apiUrl })],
  ["Connect JSON over HTTP/1.1", () => createConnectTransport({ baseUrl: runtime.apiUrl, httpVersion: "1.1" })],
  ["gRPC-Web", () => createGrpcWebTransport({ baseUrl: runtime.apiUrl, httpVersion: "2" })],
];

it.each(transports)("%s: a 50 ms deadline on GetState against a paused Redis answers DEADLINE_EXCEEDED, not after readTimeout", async (_name, transport) => {
  const client = createClient(Runtime, transport());
  await client.saveState({ storeName: "state_redis", states: [{ key: "k", value: encode("v") }] });
  const pid = await redisPid(redis);
  process.kill(pid, "SIGSTOP");
  pausedPid = pid;
  try {
    const { error, ms } = await failedCall(() => client.getState({ storeName: "state_redis", key: "k" }, { timeoutMs: deadlineMs }));
    expect(Code[error.code]).toBe(Code[Code.DeadlineExceeded]);
    expect(ms).toBeLessThan(boundMs);
  } finally {
    process.kill(pid, "SIGCONT");
    pausedPid = undefined;
  }
  // The runtime is not stuck behind the abandoned command: the next call is served.
  await eventually(async () => decode((await client.getState({ storeName: "state_redis", key: "k" })).data) === "v", 10_000);
}, 20_000);
