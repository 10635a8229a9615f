import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { createRuntimeClient, type RuntimeClient } from "@ottavo/generated/client/runtime-client";
import {
  TopicEventResponse_TopicEventResponseStatus as EventStatus,
  type TopicEventRequest,
} from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SubscribeTopicEventsRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { Pushable } from "@ottavo/test-support";

export { freePort } from "./app-callback-app";

/** The config of a runtime with one pubsub component, delivering to the app on callbackPort when given. */
export function pubsubConfig(options: {
  appId: string;
  callbackPort?: number;
  pubsubName: string;
  type: string;
  metadata: Record<string, string>;
}): string {
  const app = options.callbackPort === undefined ? `{ id: ${options.appId} }` : `{ id: ${options.appId}, callbackPort: ${options.callbackPort} }`;
  return `app: ${app}
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  pubsub:
    ${options.pubsubName}:
      type: ${options.type}
      metadata: ${JSON.stringify(options.metadata)}
`;
}

/** A Connect client of the runtime over gRPC (HTTP/2), closed with close(). */
export function connectClient(apiUrl: string): { client: RuntimeClient; close(): void } {
  const sessions = new Http2SessionManager(apiUrl);
  return {
    client: createRuntimeClient(createGrpcTransport({ baseUrl: apiUrl, sessionManager: sessions })),
    close: () => sessions.abort(),
  };
}

type StreamRequest = MessageInitShape<typeof SubscribeTopicEventsRequestSchema>;

/** A SubscribeTopicEvents stream, open (its initial_response received). */
export interface TopicStream {
  /** The next event_message; rejects when the stream ends first or nothing comes within timeoutMs. */
  next(timeoutMs?: number): Promise<TopicEventRequest>;
  /** Sends event_processed for the id. */
  answer(id: string, status: EventStatus): void;
  /** Half-closes the request side and waits for the runtime to end the stream. */
  end(): Promise<void>;
  /** Cancels the call, as a client that goes away does. */
  cancel(): void;
}

export async function openTopicStream(client: RuntimeClient, pubsubName: string, topic: string): Promise<TopicStream> {
  const requests = new Pushable<StreamRequest>();
  const abort = new AbortController();
  const responses = client.subscribeTopicEvents(requests, { signal: abort.signal })[Symbol.asyncIterator]();
  requests.push({ subscribeTopicEventsRequestType: { case: "initialRequest", value: { pubsubName, topic } } });
  const first = await responses.next();
  if (first.done || first.value.subscribeTopicEventsResponseType.case !== "initialResponse") {
    throw new Error(`expected initial_response, got ${first.done ? "the end of the stream" : first.value.subscribeTopicEventsResponseType.case}`);
  }
  return {
    async next(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        responses.next(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs))),
      ]).finally(() => clearTimeout(timer));
      if (next.done) throw new Error("the stream ended");
      const kind = next.value.subscribeTopicEventsResponseType;
      if (kind.case !== "eventMessage") throw new Error(`expected event_message, got ${kind.case}`);
      return kind.value;
    },
    answer(id, status) {
      requests.push({ subscribeTopicEventsRequestType: { case: "eventProcessed", value: { id, status: { status } } } });
    },
    async end() {
      requests.end();
      for (;;) if ((await responses.next()).done) return;
    },
    cancel() {
      abort.abort();
    },
  };
}

export { eventually } from "@ottavo/test-support";

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const text = (data: Uint8Array) => Buffer.from(data).toString("utf8");
export { EventStatus };
