import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Subscription } from "@ottavo/component-runtime";
import type { DeliveryResult, TopicMessage } from "@ottavo/generated/components/pubsub";
import type { RuntimePubsubRpcs } from "@ottavo/generated/server/runtime-handlers";
import { TopicEventResponse_TopicEventResponseStatus as EventStatus } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import type {
  SubscribeTopicEventsRequest,
  SubscribeTopicEventsResponseSchema,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ComponentTable } from "../registry/component-table";
import { resultOfStatus } from "../events/event-status";
import { AsyncQueue, defaultQueueLimit } from "./async-queue";
import { findComponent, requireComponent } from "./component-lookup";
import { cloudEventContentType, publishEnvelope, unpackMessage } from "../events/cloud-events";
import { invalidArgument } from "../errors/error-mapping";
import { atComponent } from "./call-context";
import { traceScopeOf, type TraceContext } from "../observability/trace-scope";
import { messageTtl } from "./ttl-metadata";

type StreamResponse = MessageInitShape<typeof SubscribeTopicEventsResponseSchema>;

export function createPubsubHandlers(table: ComponentTable, maxQueuedResponses = defaultQueueLimit): RuntimePubsubRpcs {
  /** Open SubscribeTopicEvents streams, by pubsub and topic: one stream per pair. */
  const streams = new Set<string>();

  /**
   * Checks names in Dapr's order: configured, pubsub name, topic, known pubsub. The
   * words for empty names differ between PublishEvent (Layotto's messages) and the
   * streaming subscription (its api_subscribe.go).
   */
  function resolve(pubsubName: string, topic: string, rpc: "publish" | "stream") {
    const found = findComponent(table, "pubsub", pubsubName);
    if (pubsubName === "") throw invalidArgument(rpc === "publish" ? "pubsub name is empty" : "pubsubName is required");
    if (topic === "") throw invalidArgument(rpc === "publish" ? `topic is empty in pubsub ${pubsubName}` : "topic is required");
    return requireComponent(found, "pubsub", pubsubName);
  }

  return {
    async publishEvent(request, context) {
      const name = request.pubsubName;
      const entry = resolve(name, request.topic, "publish");
      const data = publishEnvelope({
        data: request.data,
        dataContentType: request.dataContentType,
        topic: request.topic,
        pubsubName: name,
        source: table.appId,
        trace: traceOf(context),
        ttlSeconds: messageTtl(request.metadata),
      });
      await entry.component.publish({
        topic: request.topic,
        data,
        contentType: cloudEventContentType,
        metadata: request.metadata,
      }, atComponent(context, name, request.topic));
      return {};
    },

    subscribeTopicEvents(requests, context) {
      return subscribeTopicEvents(requests, context);
    },
  };

  /**
   * The streaming subscription (Layotto's api_subscribe.go, Dapr's SubscribeTopicEventsAlpha1):
   * the first request opens it, the runtime answers initial_response, then sends each
   * message as event_message and waits for the client's event_processed with its id.
   * When the stream ends, messages still waiting are settled RETRY, so the broker
   * delivers them again, and the subscription is closed. When the runtime shuts
   * down (or the call is cancelled), no new message is sent; the stream ends once
   * the client has answered the messages it holds, or when the API's drain bound
   * cuts it, whichever comes first.
   */
  async function* subscribeTopicEvents(
    requests: AsyncIterable<SubscribeTopicEventsRequest>,
    context: HandlerContext,
  ): AsyncGenerator<StreamResponse> {
    const iterator = requests[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) return; // the client closed without asking for anything
    const opening = first.value.subscribeTopicEventsRequestType;
    if (opening.case !== "initialRequest") throw invalidArgument("initial request is required");
    const initial = opening.value;
    const pubsubName = initial.pubsubName;
    const topic = initial.topic;
    const entry = resolve(pubsubName, topic, "stream");

    const streamKey = `${pubsubName}||${topic}`;
    if (streams.has(streamKey)) {
      throw new ConnectError(`already subscribed to pubsub "${pubsubName}" topic "${topic}"`, Code.AlreadyExists);
    }
    streams.add(streamKey);

    const outgoing = new AsyncQueue<StreamResponse>(maxQueuedResponses, `the SubscribeTopicEvents stream of topic ${topic}`);
    /** Settlers of the messages sent and not yet answered, by event id (ids may repeat). */
    const waiting = new Map<string, Array<(result: DeliveryResult) => void>>();
    /** Set once the call is told to end: nothing new is sent, answers to what was sent are still taken. */
    let draining = false;
    const endIfAnswered = () => {
      if (draining && waiting.size === 0) outgoing.end();
    };
    const drain = () => {
      draining = true;
      endIfAnswered();
    };
    const stop = () => outgoing.end();
    context.signal.addEventListener("abort", drain, { once: true });
    if (context.signal.aborted) drain();
    let subscription: Subscription | undefined;
    /** With tracing on: a delivery span per event, whose traceparent the client gets in the event's metadata. */
    const tracing = traceScopeOf(context.values);

    const deliver = (message: TopicMessage): Promise<DeliveryResult> => {
      if (outgoing.closed || draining) return Promise.resolve("RETRY");
      const event = unpackMessage(message, pubsubName);
      if (event === undefined) return Promise.resolve("DROP"); // expired
      const span = tracing?.delivery(pubsubName, topic, { traceparent: event.metadata.traceparent, tracestate: event.metadata.tracestate });
      if (span !== undefined) event.metadata = { ...event.metadata, ...span.context };
      const answered = new Promise<DeliveryResult>((settle) => {
        const settlers = waiting.get(event.id);
        if (settlers === undefined) waiting.set(event.id, [settle]);
        else settlers.push(settle);
        outgoing.push({ subscribeTopicEventsResponseType: { case: "eventMessage", value: event } });
      });
      if (span === undefined) return answered;
      return answered.then((result) => {
        span.end();
        return result;
      });
    };

    try {
      atComponent(context, pubsubName, topic);
      subscription = await entry.component.subscribe(
        {
          topic,
          consumerGroup: table.appId,
          deadLetterTopic: initial.deadLetterTopic,
          metadata: initial.metadata,
        },
        deliver,
      );
      yield { subscribeTopicEventsResponseType: { case: "initialResponse", value: {} } };

      // The client's verdicts, read beside the sending loop below.
      void (async () => {
        for (;;) {
          const next = await iterator.next();
          if (next.done || outgoing.closed) return;
          const kind = next.value.subscribeTopicEventsRequestType;
          if (kind.case !== "eventProcessed") throw invalidArgument("duplicate initial request received");
          const settlers = waiting.get(kind.value.id);
          const settle = settlers?.shift();
          if (settlers !== undefined && settlers.length === 0) waiting.delete(kind.value.id);
          // An id nobody waits for (answered twice, or after a restart) is ignored, as upstream.
          settle?.(resultOfStatus(kind.value.status?.status ?? EventStatus.SUCCESS));
          endIfAnswered();
        }
      })().then(stop, (error: unknown) => outgoing.fail(error));

      yield* outgoing;
    } finally {
      outgoing.end();
      context.signal.removeEventListener("abort", drain);
      iterator.return?.().catch(() => undefined);
      for (const settlers of waiting.values()) for (const settle of settlers) settle("RETRY");
      waiting.clear();
      // The stream is over either way; a component that fails to close cannot change that.
      await subscription?.close().catch(() => undefined);
      streams.delete(streamKey);
    }
  }
}

/**
 * The W3C trace context the published CloudEvent carries: the PublishEvent
 * span's when tracing is on, else the caller's traceparent as it came.
 */
function traceOf(context: HandlerContext): TraceContext {
  const scope = traceScopeOf(context.values);
  if (scope !== undefined) return { traceparent: scope.traceparent, tracestate: scope.tracestate };
  const traceparent = context.requestHeader.get("traceparent") ?? undefined;
  if (traceparent === undefined) return {};
  return { traceparent, tracestate: context.requestHeader.get("tracestate") ?? undefined };
}
