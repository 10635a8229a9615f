import * as http from "node:http";
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createRuntimeClient, type RuntimeClient } from "@ottavo/generated/client/runtime-client";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SubscribeTopicEventsRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { TopicEventRequest } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { TopicEventResponse_TopicEventResponseStatus as EventStatus } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { Pushable } from "@ottavo/test-support";

export interface Closable<T> {
  readonly client: T;
  close(): void;
}

/** gRPC over HTTP/2 on one connection: every call of this client is a stream of one session. */
export function grpcClient(apiUrl: string): Closable<RuntimeClient> {
  const sessions = new Http2SessionManager(apiUrl);
  return {
    client: createRuntimeClient(createGrpcTransport({ baseUrl: apiUrl, sessionManager: sessions })),
    close: () => sessions.abort(),
  };
}

/** Connect JSON over HTTP/1.1 with keep-alive: one connection per call in flight, reused. */
export function connectJsonClient(apiUrl: string): Closable<RuntimeClient> {
  const agent = new http.Agent({ keepAlive: true });
  return {
    client: createRuntimeClient(
      createConnectTransport({ httpVersion: "1.1", baseUrl: apiUrl, useBinaryFormat: false, nodeOptions: { agent } }),
    ),
    close: () => agent.destroy(),
  };
}

type StreamRequest = MessageInitShape<typeof SubscribeTopicEventsRequestSchema>;

/**
 * A SubscribeTopicEvents stream on a connection of its own that hands every event
 * to onEvent and answers SUCCESS at once. Resolves once the runtime's
 * initial_response arrived, so that what is published next is delivered.
 */
export async function subscribeTopic(
  apiUrl: string,
  pubsubName: string,
  topic: string,
  onEvent: (event: TopicEventRequest) => void,
): Promise<{ close(): void; ended: Promise<void> }> {
  const { client, close } = grpcClient(apiUrl);
  const requests = new Pushable<StreamRequest>();
  const abort = new AbortController();
  const responses = client.subscribeTopicEvents(requests, { signal: abort.signal })[Symbol.asyncIterator]();
  requests.push({ subscribeTopicEventsRequestType: { case: "initialRequest", value: { pubsubName, topic } } });
  const first = await responses.next();
  if (first.done || first.value.subscribeTopicEventsResponseType.case !== "initialResponse") {
    close();
    throw new Error("SubscribeTopicEvents: expected initial_response first");
  }
  const ended = (async () => {
    for (;;) {
      const next = await responses.next();
      if (next.done) return;
      const kind = next.value.subscribeTopicEventsResponseType;
      if (kind.case !== "eventMessage") continue;
      requests.push({
        subscribeTopicEventsRequestType: { case: "eventProcessed", value: { id: kind.value.id, status: { status: EventStatus.SUCCESS } } },
      });
      onEvent(kind.value);
    }
  })().catch(() => undefined); // cancelled by close()
  return {
    close: () => {
      requests.end();
      abort.abort();
      close();
    },
    ended,
  };
}
