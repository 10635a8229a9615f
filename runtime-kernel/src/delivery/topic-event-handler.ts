import { Code, ConnectError } from "@connectrpc/connect";
import type { AppCallbackClient } from "@ottavo/generated/client/app-callback-client";
import type { DeliveryResult, MessageHandler, TopicMessage } from "@ottavo/generated/components/pubsub";
import { unpackMessage, type UnpackedEvent } from "../events/cloud-events";
import { errorText } from "../errors/error-mapping";
import { resultOfError, resultOfStatus } from "../events/event-status";
import type { DeliveryTracing } from "../observability/trace-scope";
import type { TopicEventResponse } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import type { InFlightDeliveries } from "./in-flight";
import { untilAborted, type PolicyRunner, type Verdict } from "../resiliency/policy-runner";
import type { RetryPolicy } from "../resiliency/resiliency-spec";

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
  /** The component's inbound resiliency policies for this subscriber (targets.components.<pubsub>.inbound), if any. */
  readonly policies?: PolicyRunner;
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
 *
 * With inbound policies, one delivery from the pubsub is run through them: each
 * call to the subscriber is bounded by the policy's timeout (and the event
 * timeout), a RETRY answer or a failed call is tried again per the retry policy
 * while the runtime holds the message, and the circuit breaker is asked before
 * each call. An open breaker makes the delivery wait until a probe may go (the
 * message stays with the runtime: not handed back, not counted by the pubsub
 * towards its dead-letter limit); once the policies give up, the answer is
 * RETRY and the pubsub's redelivery and dead-lettering take over. Shutdown ends
 * the waits and retries with RETRY.
 */
export function createTopicEventHandler(options: TopicEventHandlerOptions): MessageHandler {
  const { client, pubsubName, topic, inFlight, log, tracing } = options;
  const subscriber = options.subscriber ?? "the app";
  const where = `topic '${topic}' of pubsub '${pubsubName}'`;
  /** One warning per run of failures, and one line when deliveries work again. */
  let failing = false;
  let unimplementedReported = false;
  /** One warning per time deliveries start waiting for an open breaker, and one line when they go again. */
  let waitingReported = false;
  const { policies } = options;
  const onWait = () => {
    if (waitingReported) return;
    waitingReported = true;
    const breaker = policies?.policies.circuitBreaker;
    log.warn(
      `ottavo: warning: circuit breaker '${breaker?.name ?? ""}' of ${where} is open for ${subscriber}: ` +
        `deliveries wait (the runtime holds their messages) until a probe succeeds, one every ${breaker?.timeoutMs ?? 0} ms`,
    );
  };
  /** The call to the subscriber, once, or under the inbound policies. */
  const call = (event: UnpackedEvent, headers: Record<string, string>): Promise<TopicEventResponse> => {
    const once = (signal: AbortSignal) => client.onTopicEvent(event, { timeoutMs: options.timeoutMs, signal, headers });
    if (policies === undefined) return once(inFlight.signal);
    return policies.run(
      {
        // A subscriber that does not watch its signal (a function) is let go of when the attempt times out.
        attempt: (signal) => untilAborted(once(signal), signal),
        judgeValue: (response) => (resultOfStatus(response.status) === "RETRY" ? "retry" : "ok"),
        judgeError: deliveryVerdict,
      },
      inFlight.signal,
      { whenOpen: "wait", onWait, waitsUntil: inFlight.stopping },
    );
  };

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
      const response = await call(event, headers);
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
      // The runtime stopping (a wait ended, a call cancelled) is no failure to report.
      if (!failing && !inFlight.signal.aborted && error !== inFlight.stopping.reason) {
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
    if (failing || waitingReported) {
      failing = false;
      waitingReported = false;
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

/**
 * A failed call under inbound policies: UNIMPLEMENTED settles it (the message is
 * dropped, no failure of the app); any other error is retried, unless the retry
 * policy's matching.gRPCStatusCodes leaves its code out.
 */
function deliveryVerdict(error: unknown, retry: RetryPolicy | undefined): Verdict {
  if (resultOfError(error) === "DROP") return "ok";
  if (retry?.grpcStatusCodes !== undefined && !retry.grpcStatusCodes.has(ConnectError.from(error).code)) return "fail";
  return "retry";
}

/** "Unavailable (connect ECONNREFUSED 127.0.0.1:9999)": the gRPC code and the cause. */
export function describeError(error: unknown): string {
  const failure = ConnectError.from(error);
  return `${Code[failure.code]} (${errorText(failure)})`;
}
