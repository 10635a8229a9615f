import { hostname } from "node:os";
import { UnavailableError } from "@ottavo/generated/components/errors";
import type { CallContext, Subscription } from "@ottavo/component-runtime";
import type { MessageHandler, PublishRequest, SubscribeRequest } from "@ottavo/generated/components/pubsub";
import {
  defineRedisPubsubAdapter,
  redisPubsubFeatures,
  type RedisPubsub as RedisPubsubContract,
} from "@ottavo/generated/components/adapters/redis";
import type { Redis } from "ioredis";
import { RedisConnection } from "./redis-connection";
import { redisFailure } from "./redis-errors";
import { entryFields } from "./stream-entry";
import { ensureGroup } from "./stream-group";
import { defineStreamScripts, type DeadLetter } from "./stream-scripts";
import { StreamSubscription } from "./stream-subscription";
import { READ_BLOCK_MS, StreamTiming } from "./stream-timing";

/** The pub/sub settings of the metadata, checked. */
export interface RedisPubsubSettings {
  readonly redeliveryBackoffMs: number;
  readonly maxRedeliveryBackoffMs: number;
  readonly maxDeliveries: number;
  /** The group of every subscription instead of the runtime's; undefined keeps the runtime's. */
  readonly consumerID: string | undefined;
  readonly concurrency: number;
  readonly maxLenApprox: number | undefined;
  readonly streamTTLMs: number | undefined;
  /** How long a command may wait for its reply (readTimeout); the reading connection waits this beyond its block. */
  readonly readTimeoutMs: number;
  /** This runtime's consumer name in every group; the process's by default. */
  readonly consumer?: string;
  /** How long close() lets deliveries under way settle; 1 s by default. */
  readonly closeGraceMs?: number;
}

/**
 * The consumer name of this process in every group: stable while it runs, so
 * what it reads is pending under one name, and distinct from other runtimes (host
 * and pid). A runtime that restarts comes back under a new name; what its
 * predecessor left pending is claimed by idle time, whoever owned it.
 */
export const processConsumerName = `ottavo-${hostname()}-${process.pid}`;

/**
 * The "redis" pub/sub: topics as streams, at least once. See the adapter's doc in
 * spec/components/adapters/redis.cap; StreamSubscription holds the delivery loops.
 */
export class RedisPubsub implements RedisPubsubContract {
  readonly features = new Set(redisPubsubFeatures);

  private readonly timing: StreamTiming;
  private readonly subscriptions = new Set<StreamSubscription>();
  /** Ids held by this component's subscriptions, per group and stream. */
  private readonly held = new Map<string, Set<string>>();
  private readonly consumer: string;
  private closed = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly settings: RedisPubsubSettings,
  ) {
    this.timing = new StreamTiming(settings.redeliveryBackoffMs, settings.maxRedeliveryBackoffMs);
    this.consumer = settings.consumer ?? processConsumerName;
    defineStreamScripts(connection.client);
  }

  async publish(request: PublishRequest, context?: CallContext): Promise<void> {
    this.checkOpen();
    await this.connection.call(() => this.connection.client.xadd(request.topic, ...this.trim(), "*", ...entryFields(request)), context);
  }

  async subscribe(request: SubscribeRequest, handler: MessageHandler): Promise<Subscription> {
    this.checkOpen();
    const { client } = this.connection;
    const stream = request.topic;
    const group = this.settings.consumerID ?? request.consumerGroup;
    await this.connection.call(() => ensureGroup(client, stream, group));
    const reader = await this.openReader();
    if (this.closed) {
      // Closed while connecting: nothing may outlive close().
      reader.disconnect();
      throw this.closedError();
    }
    const deadLetter: DeadLetter | undefined =
      request.deadLetterTopic === undefined || request.deadLetterTopic === ""
        ? undefined
        : { stream: request.deadLetterTopic, maxDeliveries: this.settings.maxDeliveries, trim: this.trim() };
    const key = `${group}\n${stream}`;
    let heldByComponent = this.held.get(key);
    if (heldByComponent === undefined) this.held.set(key, (heldByComponent = new Set()));
    const subscription = new StreamSubscription({
      at: { stream, group, consumer: this.consumer },
      topic: request.topic,
      client,
      reader,
      handler,
      timing: this.timing,
      concurrency: this.settings.concurrency,
      deadLetter,
      heldByComponent,
      ensureGroup: () => this.connection.call(() => ensureGroup(client, stream, group)),
      closeGraceMs: this.settings.closeGraceMs ?? 1_000,
    });
    this.subscriptions.add(subscription);
    subscription.start();
    return {
      close: async () => {
        this.subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  health(): Promise<void> {
    return this.connection.health();
  }

  /** Closes every subscription (bounded: see StreamSubscription.close), then the connection; pending messages stay pending. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(open.map((s) => s.close()));
    await this.connection.close();
  }

  /**
   * A connection of one subscription's own: XREADGROUP BLOCK holds a connection
   * while it waits, so it cannot share the component's. Its command timeout covers
   * the block plus readTimeout, so a dead connection is noticed and replaced.
   */
  private async openReader(): Promise<Redis> {
    const reader = this.connection.client.duplicate({ commandTimeout: READ_BLOCK_MS + this.settings.readTimeoutMs });
    reader.on("error", () => {});
    try {
      await reader.connect();
    } catch (error) {
      reader.disconnect();
      throw redisFailure(error, this.connection.endpoint);
    }
    return reader;
  }

  /** XADD's trim option, as configured: MAXLEN ~ n, MINID ~ (now - streamTTL), or none. */
  private trim(): [] | ["MAXLEN" | "MINID", string] {
    const { maxLenApprox, streamTTLMs } = this.settings;
    if (maxLenApprox !== undefined && maxLenApprox > 0) return ["MAXLEN", String(maxLenApprox)];
    if (streamTTLMs !== undefined && streamTTLMs > 0) return ["MINID", `${Date.now() - Math.round(streamTTLMs)}-0`];
    return [];
  }

  private checkOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): UnavailableError {
    return new UnavailableError(`redis pubsub at ${this.connection.endpoint}: the component is closed`);
  }
}

/** The "redis" pubsub adapter, as the registry holds it. */
export const redisPubsubAdapter = defineRedisPubsubAdapter(async (metadata, context) => {
  const connection = await RedisConnection.open(metadata, { componentName: context.componentName });
  return new RedisPubsub(connection, {
    redeliveryBackoffMs: metadata.redeliveryBackoff,
    maxRedeliveryBackoffMs: metadata.maxRedeliveryBackoff,
    maxDeliveries: metadata.maxDeliveries,
    consumerID: metadata.consumerID === undefined || metadata.consumerID.trim() === "" ? undefined : metadata.consumerID,
    concurrency: metadata.concurrency,
    maxLenApprox: metadata.maxLenApprox,
    streamTTLMs: metadata.streamTTL,
    readTimeoutMs: Math.max(metadata.readTimeout, metadata.writeTimeout ?? 0),
  });
});
