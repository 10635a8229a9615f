import type { CallOptions } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { TopicEventResponse_TopicEventResponseStatus as Status, type TopicEventRequest } from "../gen/spec/proto/runtime/v1/appcallback_pb.js";
import type {
  SubscribeTopicEventsRequestInitialSchema,
  SubscribeTopicEventsRequestSchema,
  SubscribeTopicEventsResponse,
} from "../gen/spec/proto/runtime/v1/runtime_pb.js";
import { callOptions, guardStream, type CallSettings } from "./call.js";
import { Pushable } from "./pushable.js";
import { aborted, closable, readiness, startedSubscription } from "./streams.js";

/** One delivered message; settle it with success(), retry() or drop(). Unsettled messages are redelivered. */
export interface TopicMessage {
  readonly event: TopicEventRequest;
  /** The payload (event.data). */
  readonly data: Uint8Array;
  success(): void;
  retry(): void;
  drop(): void;
}

/**
 * A streaming subscription to one topic (SubscribeTopicEvents): `for await` its
 * messages; `ready` resolves once the runtime confirmed the subscription, so a
 * message published after it is delivered here.
 */
export interface TopicSubscription extends AsyncIterable<TopicMessage> {
  readonly ready: Promise<void>;
  close(): void;
}

type Request = MessageInitShape<typeof SubscribeTopicEventsRequestSchema>;

export function subscribeTopic(
  capability: string,
  open: (requests: AsyncIterable<Request>, options: CallOptions) => AsyncIterable<SubscribeTopicEventsResponse>,
  initial: MessageInitShape<typeof SubscribeTopicEventsRequestInitialSchema>,
  settings: CallSettings,
): TopicSubscription {
  const { signal, close } = closable(settings.signal);
  const outbox = new Pushable<Request>();
  outbox.push({ subscribeTopicEventsRequestType: { case: "initialRequest", value: initial } });
  void aborted(signal).then(() => outbox.end());
  const { ready, confirm, refuse } = readiness();

  const settle = (id: string, status: Status) => () => {
    if (!signal.aborted) outbox.push({ subscribeTopicEventsRequestType: { case: "eventProcessed", value: { id, status: { status } } } });
  };
  async function* messages(): AsyncIterable<TopicMessage> {
    try {
      for await (const response of guardStream(capability, () => open(outbox, callOptions({ ...settings, signal })))) {
        const body = response.subscribeTopicEventsResponseType;
        if (body.case === "initialResponse") confirm();
        if (body.case !== "eventMessage") continue;
        const event = body.value;
        yield { event, data: event.data, success: settle(event.id, Status.SUCCESS), retry: settle(event.id, Status.RETRY), drop: settle(event.id, Status.DROP) };
      }
    } catch (error) {
      refuse(error);
      if (!signal.aborted) throw error;
    } finally {
      refuse(new Error("the subscription ended before the runtime confirmed it"));
      close();
    }
  }
  return startedSubscription(messages(), ready, close);
}
