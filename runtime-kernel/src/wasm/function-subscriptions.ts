import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Subscription } from "@ottavo/component-runtime";
import type { MessageHandler } from "@ottavo/generated/components/pubsub";
import {
  TopicEventRequestSchema,
  TopicEventResponseSchema,
  TopicEventResponse_TopicEventResponseStatus as EventStatus,
  type TopicEventRequest,
  type TopicEventResponse,
} from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { backoffDelay, sleep, type BackoffPolicy } from "../delivery/backoff";
import { InFlightDeliveries } from "../delivery/in-flight";
import { createTopicEventHandler, type DeliveryLog } from "../delivery/topic-event-handler";
import { errorText } from "../errors/error-mapping";
import type { ComponentTable } from "../registry/component-table";
import type { Resiliency } from "../resiliency/resiliency";
import type { FunctionAnswer, FunctionCall } from "./function-host";
import type { FunctionSubscription } from "../config/function-spec";

/** The method and content type a topic event reaches a function with (the ABI page documents them). */
export const topicEventMethod = "OnTopicEvent";
export const topicEventContentType = `application/x-protobuf; proto=${TopicEventRequestSchema.typeName}`;

export interface FunctionSubscriptionsOptions {
  readonly table: ComponentTable;
  readonly log: DeliveryLog;
  /** How long one event's invocation may take before it is redelivered (the function's own CPU limit is usually shorter). */
  readonly eventTimeoutMs?: number;
  /** Retries of a subscribe that failed for a passing reason (a backend restarting). */
  readonly retry?: BackoffPolicy;
  /** The inbound policies (targets.components.<pubsub>.inbound): each function gets runners of its own. */
  readonly resiliency?: Resiliency;
}

/** The subscriptions of one installed function; close() stops them taking events. */
export interface SubscriptionSet {
  close(): Promise<void>;
}

/**
 * Pub/sub delivery to functions: each subscription of a function is made on its
 * pubsub with consumer group `<app id>.<function name>` (so the function and the app
 * each get every event), and each event goes through the same handler the app's
 * subscriptions use (expiry, DROP on UNIMPLEMENTED, one warning per run of
 * failures), with the function in the app's place: it is invoked with the
 * OnTopicEvent request as protobuf and its TopicEventResponse decides SUCCESS,
 * RETRY or DROP. Redelivery and dead-lettering stay the pubsub's.
 */
export class FunctionSubscriptions {
  private readonly inFlight = new InFlightDeliveries();
  private readonly stopping = new AbortController();

  constructor(private readonly options: FunctionSubscriptionsOptions) {}

  /** Refuses (INVALID_ARGUMENT) a subscription naming a pubsub that is not configured, before anything is subscribed. */
  check(functionName: string, subscriptions: readonly FunctionSubscription[]): void {
    for (const s of subscriptions) {
      if (this.options.table.get("pubsub", s.pubsub) === undefined) {
        const known = this.options.table.list("pubsub").map((e) => e.name);
        throw new ConnectError(
          `function '${functionName}' subscribes to topic '${s.topic}' of pubsub '${s.pubsub}', which is not configured (pubsubs: ${known.join(", ") || "none"})`,
          Code.InvalidArgument,
        );
      }
    }
  }

  /**
   * Subscribes the function to its topics; events are handed to invoke. A pubsub that
   * refuses for a passing reason is retried in the background; any other refusal
   * closes what was subscribed and throws.
   */
  async open(functionName: string, subscriptions: readonly FunctionSubscription[], invoke: (call: FunctionCall) => Promise<FunctionAnswer>): Promise<SubscriptionSet> {
    this.check(functionName, subscriptions);
    const made: Subscription[] = [];
    let closed = false;
    const set: SubscriptionSet = {
      close: async () => {
        closed = true;
        await Promise.all(made.splice(0).map((s) => s.close().catch(() => undefined)));
      },
    };
    try {
      for (const s of subscriptions) {
        const first = await this.subscribeOnce(functionName, s, invoke);
        if (first.subscription) made.push(first.subscription);
        else {
          this.options.log.warn(`ottavo: warning: function '${functionName}' cannot subscribe to topic '${s.topic}' of pubsub '${s.pubsub}' yet: ${errorText(first.error)}; retrying with backoff`);
          void this.retry(functionName, s, invoke, () => closed, (sub) => made.push(sub));
        }
      }
    } catch (error) {
      await set.close();
      throw error;
    }
    return set;
  }

  /** Stops every delivery: new events are answered RETRY, the ones under way may finish. */
  async shutdown(): Promise<void> {
    this.stopping.abort();
    this.inFlight.stop();
    await this.inFlight.idle();
  }

  private handler(functionName: string, s: FunctionSubscription, invoke: (call: FunctionCall) => Promise<FunctionAnswer>): MessageHandler {
    return createTopicEventHandler({
      client: { onTopicEvent: (event: TopicEventRequest) => deliverToFunction(functionName, event, invoke) },
      subscriber: `function '${functionName}'`,
      pubsubName: s.pubsub,
      topic: s.topic,
      timeoutMs: this.options.eventTimeoutMs ?? 60_000,
      inFlight: this.inFlight,
      log: this.options.log,
      policies: this.options.resiliency?.forInbound(s.pubsub, { kind: "function", name: functionName }),
    });
  }

  /** One subscribe: a made subscription, or the passing error to retry; a lasting refusal throws. */
  private async subscribeOnce(
    functionName: string,
    s: FunctionSubscription,
    invoke: (call: FunctionCall) => Promise<FunctionAnswer>,
  ): Promise<{ subscription?: Subscription; error?: ConnectError }> {
    const entry = this.options.table.get("pubsub", s.pubsub)!;
    const request = {
      topic: s.topic,
      consumerGroup: `${this.options.table.appId}.${functionName}`,
      ...(s.deadLetterTopic !== undefined ? { deadLetterTopic: s.deadLetterTopic } : {}),
      metadata: { ...s.metadata },
    };
    try {
      const subscription = await entry.component.subscribe(request, this.handler(functionName, s, invoke));
      this.options.log.info(`ottavo: subscribed function '${functionName}' to topic '${s.topic}' of pubsub '${s.pubsub}'`);
      return { subscription };
    } catch (error) {
      const failure = ConnectError.from(error);
      if (!passing(failure.code)) {
        throw new ConnectError(`function '${functionName}' cannot subscribe to topic '${s.topic}' of pubsub '${s.pubsub}': ${errorText(failure)}`, failure.code);
      }
      return { error: failure };
    }
  }

  private async retry(
    functionName: string,
    s: FunctionSubscription,
    invoke: (call: FunctionCall) => Promise<FunctionAnswer>,
    isClosed: () => boolean,
    keep: (subscription: Subscription) => void,
  ): Promise<void> {
    const policy = this.options.retry ?? { initialMs: 100, maxMs: 5_000 };
    for (let attempt = 1; ; attempt++) {
      if (!(await sleep(backoffDelay(policy, attempt), this.stopping.signal)) || isClosed()) return;
      let made: { subscription?: Subscription; error?: ConnectError };
      try {
        made = await this.subscribeOnce(functionName, s, invoke);
      } catch (error) {
        this.options.log.warn(`ottavo: warning: ${errorText(error)}; not retried`);
        return;
      }
      if (made.subscription) {
        if (isClosed()) await made.subscription.close().catch(() => undefined);
        else keep(made.subscription);
        return;
      }
    }
  }
}

/** One event to the function, answered as OnTopicEvent: an empty answer is SUCCESS; bytes that are not a TopicEventResponse redeliver it. */
async function deliverToFunction(functionName: string, event: TopicEventRequest, invoke: (call: FunctionCall) => Promise<FunctionAnswer>): Promise<TopicEventResponse> {
  const answer = await invoke({
    method: topicEventMethod,
    verb: "POST",
    query: "",
    contentType: topicEventContentType,
    data: toBinary(TopicEventRequestSchema, create(TopicEventRequestSchema, event)),
    headers: [],
  });
  if (answer.data.length === 0) return create(TopicEventResponseSchema, { status: EventStatus.SUCCESS });
  try {
    return fromBinary(TopicEventResponseSchema, answer.data);
  } catch (error) {
    throw new ConnectError(`function '${functionName}' answered an event with bytes that are not a TopicEventResponse: ${errorText(error)}`, Code.Internal);
  }
}

/** Failures that may pass (a backend restarting); the others (a bad name, a missing topic) will not. */
function passing(code: Code): boolean {
  return ![Code.InvalidArgument, Code.NotFound, Code.AlreadyExists, Code.PermissionDenied, Code.Unauthenticated, Code.FailedPrecondition, Code.OutOfRange, Code.Unimplemented].includes(code);
}
