import { Code, ConnectError } from "@connectrpc/connect";
import type { DeliveryResult } from "@ottavo/generated/components/pubsub";
import { TopicEventResponse_TopicEventResponseStatus as EventStatus } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";

/**
 * An app's verdict on one event (OnTopicEvent's answer, or event_processed on a
 * SubscribeTopicEvents stream) as the pubsub component's handler answer: SUCCESS
 * and DROP settle the message; RETRY and any status this runtime does not know
 * redeliver it.
 */
export function resultOfStatus(status: EventStatus): DeliveryResult {
  switch (status) {
    case EventStatus.SUCCESS:
      return "SUCCESS";
    case EventStatus.DROP:
      return "DROP";
    default:
      return "RETRY";
  }
}

/** A failed OnTopicEvent call: UNIMPLEMENTED drops the message, as in Layotto and Dapr; any other error redelivers it. */
export function resultOfError(error: unknown): DeliveryResult {
  return ConnectError.from(error).code === Code.Unimplemented ? "DROP" : "RETRY";
}
