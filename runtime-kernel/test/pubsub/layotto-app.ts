import { status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { GRPCServerImpl, Server } from "layotto";
import type { TopicEventRequest as TopicEventRequestPB, TopicEventResponse } from "layotto/proto/runtime/v1/appcallback_pb";

/** What the SDK hands a handler besides the parsed data. */
export interface ReceivedEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly specVersion: string;
  readonly dataContentType: string;
  readonly data: Uint8Array;
  readonly topic: string;
  readonly pubsubName: string;
  readonly metadata: Record<string, string>;
}

/** One topic the app subscribes to. */
export interface AppTopic {
  readonly pubsubName: string;
  readonly topic: string;
  readonly metadata?: Record<string, string>;
  /**
   * The SDK handler: (data, event). Throwing makes the SDK answer RETRY. Without a
   * handler the topic is only listed, and the SDK answers DROP to its events.
   */
  readonly handler?: (data: unknown, event: ReceivedEvent) => Promise<void>;
  /** Answer every OnTopicEvent of this topic with the gRPC error UNIMPLEMENTED instead. */
  readonly unimplemented?: boolean;
}

/** One OnTopicEvent call the app received, whatever it answered. */
export interface AppCall {
  readonly topic: string;
  readonly id: string;
  readonly data: string;
}

/**
 * The layotto SDK's server side, as it ships, counting every OnTopicEvent call.
 * Only answering UNIMPLEMENTED for some topics is ours (the SDK has no way to).
 */
class RecordingAppCallback extends GRPCServerImpl {
  readonly calls: AppCall[] = [];
  readonly unimplemented = new Set<string>();

  override async onTopicEvent(
    call: ServerUnaryCall<TopicEventRequestPB, TopicEventResponse>,
    callback: sendUnaryData<TopicEventResponse>,
  ): Promise<void> {
    const request = call.request;
    const topic = request.getTopic();
    this.calls.push({ topic, id: request.getId(), data: Buffer.from(request.getData_asU8()).toString("utf8") });
    if (this.unimplemented.has(`${request.getPubsubName()}|${topic}`)) {
      callback({ code: status.UNIMPLEMENTED, details: "this app does not take events of this topic", name: "", message: "" }, null);
      return;
    }
    return super.onTopicEvent(call, callback);
  }
}

export interface LayottoApp {
  readonly port: number;
  readonly calls: readonly AppCall[];
  /** What the SDK logged (it logs every ListTopicSubscriptions and every handler failure). */
  readonly logged: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts an app on the layotto SDK's Server: `pubsub.subscribe` registers each
 * handler, `pubsub.addPubSubSubscription` lists the topic for
 * ListTopicSubscriptions (layotto 1.18 needs both).
 */
export async function startLayottoApp(port: number, topics: readonly AppTopic[]): Promise<LayottoApp> {
  const logged: string[] = [];
  const logger = {
    info: (...args: unknown[]) => void logged.push(args.map(String).join(" ")),
    warn: (...args: unknown[]) => void logged.push(args.map(String).join(" ")),
    error: (...args: unknown[]) => void logged.push(args.map(String).join(" ")),
  };
  const impl = new RecordingAppCallback({ logger });
  const server = new Server(String(port), impl, { logger });
  for (const t of topics) {
    if (t.unimplemented) impl.unimplemented.add(`${t.pubsubName}|${t.topic}`);
    else if (t.handler) server.pubsub.subscribe(t.pubsubName, t.topic, t.handler as never, t.metadata);
    server.pubsub.addPubSubSubscription(t.pubsubName, t.topic, t.metadata);
  }
  await server.start();
  return {
    port,
    calls: impl.calls,
    logged,
    close: () => server.close(),
  };
}
