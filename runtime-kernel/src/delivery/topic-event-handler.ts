import { Code, ConnectError } from "@connectrpc/connect";
import type { AppCallbackClient } from "@ottavo/generated/client/app-callback-client";
import type { DeliveryResult, MessageHandler, TopicMessage } from "@ottavo/generated/components/pubsub";
import { unpackMessage } from "../events/cloud-events";
import { errorText } from "../errors/error-mapping";
import { resultOfError, resultOfStatus } from "../events/event-status";
import type { DeliveryTracing } from "../observability/trace-scope";
import type { InFlightDeliveries } from "./in-flight";

/** Where delivery writes: progress to info (stdout), trouble to warn (stderr). */
export interface DeliveryLog {
  info(line: string): void;
  warn(line: string): void;
}

export interface TopicEventHandlerOptions {
  /** The app's callback client, or anything else that answers OnTopicEvent (a wasm function). */
  readonly client: Pick<AppCallbackClient, "onTopicEvent">;
  /** Who receives the events, in log lines: "the app" unless told. */
  readonly subscriber?: string;
  readonly pubsubName: string;
  readonly topic: string;
  /** The deadline of one OnTopicEvent call. */
  readonly timeoutMs: number;
  readonly inFlight: InFlightDeliveries;
  readonly log: DeliveryLog;
  /** A span per delivery, when tracing is on. */
  readonly tracing?: DeliveryTracing;
}

/**
 * The handler the runtime gives a pubsub component for one of the app's
 * subscriptions: each message is unpacked into a TopicEventRequest (CloudEvents
 * 1.0, as SubscribeTopicEvents sends it), expired events are dropped, and the
 * app's OnTopicEvent answer becomes the handler's answer. Redelivery, its
 * backoff and dead-lettering are the component's: this handler only says
 * SUCCESS, DROP or RETRY, and never throws. The event's W3C trace context
 * (its traceparent extension) goes to the app as the call's traceparent and
 * tracestate headers and in the request's metadata; with tracing on, it is the
 * context of a delivery span, child of the event's.
 */
export function createTopicEventHandler(options: TopicEventHandlerOptions): MessageHandler {
  const { client, pubsubName, topic, inFlight, log, tracing } = options;
  const subscriber = options.subscriber ?? "the app";
  const where = `topic '${topic}' of pubsub '${pubsubName}'`;
  /** One warning per run of failures, and one line when deliveries work again. */
  let failing = false;
  let unimplementedReported = false;

  const deliver = async (message: TopicMessage): Promise<DeliveryResult> => {
    const event = unpackMessage(message, pubsubName);
    if (event === undefined) {
      log.warn(`ottavo: warning: message ${message.id} of ${where} expired before delivery; dropped`);
      return "DROP";
    }
    let result: DeliveryResult;
    const parent = { traceparent: event.metadata.traceparent, tracestate: event.metadata.tracestate };
    const span = tracing?.delivery(pubsubName, topic, parent);
    const trace = span?.context ?? parent;
    if (span !== undefined) event.metadata = { ...event.metadata, ...trace };
    const headers: Record<string, string> = {};
    if (trace.traceparent !== undefined) headers.traceparent = trace.traceparent;
    if (trace.tracestate !== undefined) headers.tracestate = trace.tracestate;
    let failure: unknown;
    try {
      const response = await client.onTopicEvent(event, { timeoutMs: options.timeoutMs, signal: inFlight.signal, headers });
      result = resultOfStatus(response.status);
      if (result === "DROP") log.warn(`ottavo: warning: ${subscriber} dropped event ${event.id} of ${where}`);
    } catch (error) {
      failure = error;
      result = resultOfError(error);
      if (result === "DROP") {
        if (!unimplementedReported) {
          unimplementedReported = true;
          log.warn(`ottavo: warning: ${subscriber} does not implement OnTopicEvent; the events of ${where} are dropped`);
        }
        return result;
      }
      if (!failing && !inFlight.signal.aborted) {
        failing = true;
        log.warn(
          `ottavo: warning: cannot deliver event ${event.id} of ${where} to ${subscriber}: ${describeError(error)}; ` +
            "the pubsub redelivers it (further failures are not reported until a delivery succeeds)",
        );
      }
      return result;
    } finally {
      span?.end(failure);
    }
    if (failing) {
      failing = false;
      log.info(`ottavo: delivering ${where} to ${subscriber} again`);
    }
    return result;
  };

  return (message) => {
    // Taken while shutting down: not delivered now, so the pubsub keeps it.
    if (!inFlight.isAccepting) return Promise.resolve("RETRY");
    return inFlight.track(() => deliver(message));
  };
}

/** "Unavailable (connect ECONNREFUSED 127.0.0.1:9999)": the gRPC code and the cause. */
export function describeError(error: unknown): string {
  const failure = ConnectError.from(error);
  return `${Code[failure.code]} (${errorText(failure)})`;
}
