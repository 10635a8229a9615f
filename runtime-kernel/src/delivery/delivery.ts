import { Code, ConnectError } from "@connectrpc/connect";
import type { Subscription } from "@ottavo/component-runtime";
import type { RuntimeConfig } from "../config/runtime-config";
import { errorText } from "../errors/error-mapping";
import type { ComponentTable } from "../registry/component-table";
import { AppCallbackConnection, type AppCallbackAddress } from "./app-callback-connection";
import { backoffDelay, sleep, type BackoffPolicy } from "./backoff";
import type { DeliveryTracing } from "../observability/trace-scope";
import type { Resiliency } from "../resiliency/resiliency";
import { InFlightDeliveries } from "./in-flight";
import { createTopicEventHandler, describeError, type DeliveryLog } from "./topic-event-handler";
import { listAppSubscriptions, type AppSubscription } from "./topic-subscriptions";

export interface DeliveryOptions {
  /** The deadline of one OnTopicEvent call; past it the message is redelivered. */
  readonly eventTimeoutMs: number;
  /** The deadline of one ListTopicSubscriptions call. */
  readonly listTimeoutMs: number;
  /** How ListTopicSubscriptions, and a subscribe that failed for a passing reason, are retried. */
  readonly retry: BackoffPolicy;
}

export const defaultDeliveryOptions: DeliveryOptions = {
  eventTimeoutMs: 60_000,
  listTimeoutMs: 10_000,
  retry: { initialMs: 100, maxMs: 5_000 },
};

/** The app's callback server when the runtime should deliver to it: a callback port is configured and a pubsub exists. */
export function appCallbackTarget(config: RuntimeConfig, table: ComponentTable): AppCallbackAddress | undefined {
  const callback = config.app.callback;
  return callback !== undefined && table.list("pubsub").length > 0 ? callback : undefined;
}

export interface AppDeliveryInput {
  readonly table: ComponentTable;
  readonly callback: AppCallbackAddress;
  readonly log: DeliveryLog;
  readonly options?: Partial<DeliveryOptions>;
  /** A span per delivery, when tracing is on. */
  readonly tracing?: DeliveryTracing;
  /** The inbound policies (targets.components.<pubsub>.inbound) deliveries run under. */
  readonly resiliency?: Resiliency;
}

/** A subscription the runtime holds for the app. */
export interface ActiveSubscription {
  readonly pubsubName: string;
  readonly topic: string;
  readonly subscription: Subscription;
}

/**
 * Pub/sub delivery through the app's AppCallback server (Layotto's
 * grpc_callback_port): asks the app for its topics with ListTopicSubscriptions,
 * retrying until the app answers, subscribes through each named pubsub under the
 * app id as consumer group, and hands every message to OnTopicEvent. Runs in
 * the background: the API serves while the app is still starting.
 */
export class AppDelivery {
  private readonly connection: AppCallbackConnection;
  private readonly options: DeliveryOptions;
  private readonly inFlight = new InFlightDeliveries();
  /** Aborted at shutdown: ends the retries of ListTopicSubscriptions and subscribe. */
  private readonly stopping = new AbortController();
  private readonly active: ActiveSubscription[] = [];
  /** Resolves once every subscription the app asked for is made, refused, or given up at shutdown. */
  readonly settled: Promise<void>;
  private stopped: Promise<{ drained: boolean }> | undefined;

  private constructor(private readonly input: AppDeliveryInput) {
    this.options = { ...defaultDeliveryOptions, ...input.options };
    this.connection = new AppCallbackConnection(input.callback);
    this.settled = this.run().catch((error: unknown) =>
      input.log.warn(`ottavo: warning: delivery to the app stopped: ${errorText(error)}`),
    );
  }

  static start(input: AppDeliveryInput): AppDelivery {
    return new AppDelivery(input);
  }

  /** The subscriptions made for the app so far. */
  get subscriptions(): readonly ActiveSubscription[] {
    return this.active;
  }

  /**
   * Stops delivery: no more retries, the subscriptions close (the pubsubs stop
   * taking messages for the app), deliveries under way may finish within
   * timeoutMs and are then cancelled, which leaves their messages with the pubsub.
   * Resolves with whether they all finished in time. Calling it again returns the same promise.
   */
  shutdown(timeoutMs: number): Promise<{ drained: boolean }> {
    this.stopped ??= this.stop(timeoutMs);
    return this.stopped;
  }

  private async stop(timeoutMs: number): Promise<{ drained: boolean }> {
    const { log } = this.input;
    this.stopping.abort();
    this.inFlight.stop();
    const closing = Promise.all(
      this.active.splice(0).map(({ pubsubName, topic, subscription }) =>
        subscription.close().catch((error: unknown) =>
          log.warn(`ottavo: warning: the subscription to topic '${topic}' of pubsub '${pubsubName}' failed to close: ${errorText(error)}`),
        ),
      ),
    );
    const finished = Promise.all([closing, this.inFlight.idle(), this.settled]);
    const drained = await within(finished, timeoutMs);
    if (!drained) {
      const count = this.inFlight.size;
      if (count > 0) {
        log.warn(
          `ottavo: warning: ${count} delivery(ies) to the app still under way after ${timeoutMs} ms; ` +
            "cancelled (the pubsub redelivers them)",
        );
      }
      this.inFlight.cancel();
      // Cancelled calls answer at once; a subscription that still does not close is left to the component's close.
      await within(finished, 1_000);
    }
    this.connection.close();
    return { drained };
  }

  private async run(): Promise<void> {
    const { log } = this.input;
    const url = this.connection.url;
    const listed = await listAppSubscriptions(this.connection.client, {
      backoff: this.options.retry,
      callTimeoutMs: this.options.listTimeoutMs,
      signal: this.stopping.signal,
      onFirstFailure: (error) =>
        log.info(
          `ottavo: waiting for the app's AppCallback server at ${url} ` +
            `(ListTopicSubscriptions: ${describeError(error)}); retrying with backoff`,
        ),
    });
    if (listed === undefined) return;
    if (listed.subscriptions.length === 0) {
      log.info(`ottavo: the app at ${url} subscribes to no topics`);
      return;
    }
    const seen = new Set<string>();
    const wanted = listed.subscriptions.filter((s) => {
      const key = `${s.pubsubName}\u0000${s.topic}`;
      if (seen.has(key)) {
        log.warn(`ottavo: warning: the app lists topic '${s.topic}' of pubsub '${s.pubsubName}' twice; subscribed once`);
        return false;
      }
      seen.add(key);
      return true;
    });
    await Promise.all(wanted.map((s) => this.subscribe(s)));
  }

  /** Subscribes one of the app's topics, retrying while the pubsub's failure looks passing. */
  private async subscribe(wanted: AppSubscription): Promise<void> {
    const { table, log } = this.input;
    const { pubsubName, topic, deadLetterTopic, metadata } = wanted;
    const entry = table.get("pubsub", pubsubName);
    if (entry === undefined) {
      const known = table.list("pubsub").map((e) => e.name);
      log.warn(
        `ottavo: warning: the app subscribes to topic '${topic}' of pubsub '${pubsubName}', which is not configured ` +
          `(pubsubs: ${known.join(", ")}); skipped`,
      );
      return;
    }
    if (topic === "") {
      log.warn(`ottavo: warning: the app subscribes to an empty topic name on pubsub '${pubsubName}'; skipped`);
      return;
    }
    if (deadLetterTopic !== undefined && !entry.component.features.has("DEAD_LETTER")) {
      log.warn(
        `ottavo: warning: pubsub '${pubsubName}' (type ${entry.type}) has no dead-letter support; ` +
          `deadLetterTopic '${deadLetterTopic}' of topic '${topic}' is ignored`,
      );
    }
    // Counted and timed by the component table's pubsub proxy (observability/component-metrics.ts).
    const handler = createTopicEventHandler({
      client: this.connection.client,
      pubsubName,
      topic,
      timeoutMs: this.options.eventTimeoutMs,
      inFlight: this.inFlight,
      log,
      tracing: this.input.tracing,
      policies: this.input.resiliency?.forInbound(pubsubName, { kind: "app", name: table.appId || "the app" }),
    });
    const request = {
      topic,
      consumerGroup: table.appId,
      ...(deadLetterTopic !== undefined ? { deadLetterTopic } : {}),
      metadata,
    };
    for (let attempt = 1; ; attempt++) {
      if (this.stopping.signal.aborted) return;
      let subscription: Subscription;
      try {
        subscription = await entry.component.subscribe(request, handler);
      } catch (error) {
        const failure = ConnectError.from(error);
        const what = `cannot subscribe to topic '${topic}' of pubsub '${pubsubName}': ${errorText(failure)}`;
        if (!passing(failure.code)) {
          log.warn(`ottavo: warning: ${what}`);
          return;
        }
        if (attempt === 1) log.warn(`ottavo: warning: ${what}; retrying with backoff`);
        if (!(await sleep(backoffDelay(this.options.retry, attempt), this.stopping.signal))) return;
        continue;
      }
      if (this.stopping.signal.aborted) {
        // Shutdown began while the pubsub was subscribing: give it back at once.
        await subscription.close().catch(() => undefined);
        return;
      }
      this.active.push({ pubsubName, topic, subscription });
      log.info(`ottavo: subscribed the app to topic '${topic}' of pubsub '${pubsubName}'`);
      return;
    }
  }
}

/** Failures that may pass (a backend restarting); the others (a bad name, a missing topic) will not. */
function passing(code: Code): boolean {
  switch (code) {
    case Code.InvalidArgument:
    case Code.NotFound:
    case Code.AlreadyExists:
    case Code.PermissionDenied:
    case Code.Unauthenticated:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
    case Code.Unimplemented:
      return false;
    default:
      return true;
  }
}

/** Whether the promise settled within ms. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return inTime;
}
