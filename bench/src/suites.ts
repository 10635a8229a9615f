import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { inMemoryPubsubAdapter, inMemoryStateAdapter } from "@ottavo/adapter-memory";
import { redisStateAdapter } from "@ottavo/adapter-redis";
import type { AdapterContext } from "@ottavo/component-runtime";
import type { StateStore } from "@ottavo/generated/components/state";
import { SequencerOptions_AutoIncrement } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { RuntimeClient } from "@ottavo/generated/client/runtime-client";
import { measureGroup, type Case, type Result, type Timing } from "./harness";
import { connectJsonClient, grpcClient, subscribeTopic } from "./clients";

/** The value every state benchmark saves and reads back. */
const value = new Uint8Array(randomBytes(100));
/** Keys each worker cycles through: a small working set, written over and over. */
const keysPerWorker = 64;
const keyOf = (prefix: string, worker: number, seq: number) => `${prefix}-${worker}-${seq % keysPerWorker}`;

const concurrencies = [1, 16] as const;

/** As the kernel passes it to an adapter it creates. */
const adapterContext: AdapterContext = { componentName: "bench", appId: "bench", configDir: process.cwd(), settings: {} };

/** Names of the components in the runtimes' configs (main.ts). */
export const names = { state: "state", hello: "hello", sequencer: "sequencer", pubsub: "pubsub" } as const;

/** SaveState then GetState through the runtime; checks what it read, so a broken path cannot pass for a fast one. */
function runtimeStateOp(client: RuntimeClient, prefix: string) {
  return async (worker: number, seq: number) => {
    const key = keyOf(prefix, worker, seq);
    await client.saveState({ storeName: names.state, states: [{ key, value }] });
    const read = await client.getState({ storeName: names.state, key });
    if (read.data.length !== value.length) throw new Error(`GetState ${key}: read ${read.data.length} bytes, wrote ${value.length}`);
  };
}

/** The same two operations on a state component in this process, as the kernel's handlers call it. */
function directStateOp(store: StateStore, prefix: string) {
  return async (worker: number, seq: number) => {
    const key = keyOf(prefix, worker, seq);
    await store.set({ key, value, concurrency: "LAST_WRITE", consistency: "EVENTUAL", metadata: {} });
    const read = await store.get({ key, consistency: "EVENTUAL", metadata: {} });
    if (read.data.length !== value.length) throw new Error(`get ${key}: read ${read.data.length} bytes, wrote ${value.length}`);
  };
}

/** 1. SaveState+GetState through the runtime (in-memory store) vs the in-memory adapter in this process. */
export async function stateInMemory(apiUrl: string, timing: Timing): Promise<Result[]> {
  const grpc = grpcClient(apiUrl);
  const store = await inMemoryStateAdapter.create({}, adapterContext);
  try {
    const cases: Case[] = concurrencies.flatMap((concurrency) => [
      { name: "in-memory adapter, in process", concurrency, op: directStateOp(store, "direct") },
      { name: "runtime, gRPC (in-memory store)", concurrency, op: runtimeStateOp(grpc.client, "rt"), baselines: ["in-memory adapter, in process"] },
    ]);
    return await measureGroup("1. SaveState+GetState, 100 B, in-memory", cases, timing);
  } finally {
    grpc.close();
    await store.close();
  }
}

/**
 * 2. The same through the runtime with a Redis store vs the Redis adapter in this
 * process vs plain ioredis HSET + HMGET, all on the same redis-server.
 */
export async function stateRedis(apiUrl: string, redisHost: string, redisPort: number, timing: Timing): Promise<Result[]> {
  const grpc = grpcClient(apiUrl);
  const store = await redisStateAdapter.create({ redisHost: `${redisHost}:${redisPort}` }, adapterContext);
  const raw = new Redis({ host: redisHost, port: redisPort, lazyConnect: true });
  const rawValue = Buffer.from(value);
  try {
    await raw.connect();
    // The commands an item needs at the least: one write of data and version, one read of both.
    const rawOp = async (worker: number, seq: number) => {
      const key = keyOf("raw", worker, seq);
      await raw.hset(key, "data", rawValue, "version", "1");
      const [data] = await raw.hmgetBuffer(key, "data", "version");
      if (data === null || data.length !== value.length) throw new Error(`HMGET ${key}: unexpected reply`);
    };
    const ioredis = "ioredis HSET+HMGET";
    const adapter = "redis adapter, in process";
    const cases: Case[] = concurrencies.flatMap((concurrency) => [
      { name: ioredis, concurrency, op: rawOp },
      { name: adapter, concurrency, op: directStateOp(store, "direct"), baselines: [ioredis] },
      { name: "runtime, gRPC (redis store)", concurrency, op: runtimeStateOp(grpc.client, "rt"), baselines: [ioredis, adapter] },
    ]);
    return await measureGroup("2. SaveState+GetState, 100 B, redis", cases, timing);
  } finally {
    grpc.close();
    raw.disconnect();
    await store.close();
  }
}

/**
 * 3a. SayHello over gRPC (HTTP/2, one connection) vs Connect JSON over HTTP/1.1,
 * and the same gRPC call on a bare Connect-ES server without the kernel (bare-server.ts).
 */
export async function helloTransports(apiUrl: string, bareUrl: string, timing: Timing): Promise<Result[]> {
  const bare = grpcClient(bareUrl);
  const grpc = grpcClient(apiUrl);
  const json = connectJsonClient(apiUrl);
  const hello = (client: RuntimeClient) => async () => {
    const reply = await client.sayHello({ serviceName: names.hello, name: "bench" });
    if (reply.hello === "") throw new Error("SayHello: empty reply");
  };
  const bareName = "bare Connect-ES server, gRPC (HTTP/2)";
  const grpcName = "runtime, gRPC (HTTP/2)";
  try {
    const cases: Case[] = concurrencies.flatMap((concurrency) => [
      { name: bareName, concurrency, op: hello(bare.client) },
      { name: grpcName, concurrency, op: hello(grpc.client), baselines: [bareName] },
      { name: "runtime, Connect JSON (HTTP/1.1)", concurrency, op: hello(json.client), baselines: [grpcName] },
    ]);
    return await measureGroup("3a. SayHello: gRPC vs Connect JSON over HTTP/1.1", cases, timing);
  } finally {
    bare.close();
    grpc.close();
    json.close();
  }
}

/** 3b. GetNextId STRONG (one Redis INCR per id) vs WEAK (ids from reserved segments) through the runtime. */
export async function nextIdModes(apiUrl: string, timing: Timing): Promise<Result[]> {
  const grpc = grpcClient(apiUrl);
  const nextId = (increment: SequencerOptions_AutoIncrement, key: string) => async () => {
    const reply = await grpc.client.getNextId({ storeName: names.sequencer, key, options: { increment } });
    if (reply.nextId === "") throw new Error("GetNextId: empty id");
  };
  try {
    const cases: Case[] = concurrencies.flatMap((concurrency) => [
      { name: "GetNextId WEAK (segment cache)", concurrency, op: nextId(SequencerOptions_AutoIncrement.WEAK, "weak") },
      {
        name: "GetNextId STRONG (INCR per id)",
        concurrency,
        op: nextId(SequencerOptions_AutoIncrement.STRONG, "strong"),
        baselines: ["GetNextId WEAK (segment cache)"],
      },
    ]);
    return await measureGroup("3b. GetNextId through the runtime, redis sequencer", cases, timing);
  } finally {
    grpc.close();
  }
}

/**
 * 4. PublishEvent, then wait until the subscriber got that event: through the
 * runtime (in-memory pubsub, SubscribeTopicEvents stream in this process) vs the
 * in-memory pubsub adapter in this process. Closed loop: each worker has one
 * event in flight, so concurrency 16 keeps 16 events between publish and delivery.
 */
export async function pubsubDelivery(apiUrl: string, timing: Timing): Promise<Result[]> {
  /** Who waits for which token; the token opens each 100-byte payload, ended by a space. */
  const waiting = new Map<string, () => void>();
  let counter = 0;
  const payload = (token: string) => new TextEncoder().encode(`${token} `.padEnd(100, "x"));
  const delivered = (data: Uint8Array) => {
    const end = data.indexOf(0x20);
    const token = Buffer.from(data.buffer, data.byteOffset, end < 0 ? data.byteLength : end).toString("latin1");
    const wake = waiting.get(token);
    waiting.delete(token);
    wake?.();
  };
  const roundTrip = (publish: (data: Uint8Array) => Promise<unknown>) => async () => {
    const token = String(counter++);
    const arrived = new Promise<void>((resolve) => waiting.set(token, resolve));
    await publish(payload(token));
    await arrived;
  };

  const direct = await inMemoryPubsubAdapter.create({}, adapterContext);
  const grpc = grpcClient(apiUrl);
  let subscription: { close(): void; ended: Promise<void> } | undefined;
  try {
    await direct.subscribe({ topic: "bench", consumerGroup: "bench", metadata: {} }, async (message) => {
      delivered(message.data);
      return "SUCCESS";
    });
    subscription = await subscribeTopic(apiUrl, names.pubsub, "bench", (event) => delivered(event.data));
    const directOp = roundTrip((data) => direct.publish({ topic: "bench", data, contentType: "text/plain", metadata: {} }));
    const runtimeOp = roundTrip((data) =>
      grpc.client.publishEvent({ pubsubName: names.pubsub, topic: "bench", data, dataContentType: "text/plain" }),
    );
    const cases: Case[] = concurrencies.flatMap((concurrency) => [
      { name: "in-memory pubsub adapter, in process", concurrency, op: directOp },
      {
        name: "runtime: PublishEvent → SubscribeTopicEvents",
        concurrency,
        op: runtimeOp,
        baselines: ["in-memory pubsub adapter, in process"],
      },
    ]);
    return await measureGroup("4. publish → delivered to a subscriber, 100 B, in-memory pubsub", cases, timing);
  } finally {
    subscription?.close();
    await subscription?.ended;
    grpc.close();
    await direct.close();
  }
}
