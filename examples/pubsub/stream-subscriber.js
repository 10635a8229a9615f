// An app without a server of its own: it subscribes over a stream it opens to the
// runtime (SubscribeTopicEvents), with Ottavo's generated client, and answers
// each event by its id. Build first (make run or npx tsc -b builds @ottavo/generated).
//
//   node examples/pubsub/stream-subscriber.js [topic]   # topic "shipments" by default
//
// The runtime is at 127.0.0.1:34904, or $runtime_GRPC_PORT. Events left unanswered
// when the stream closes are delivered again to the next subscriber.
const { createGrpcTransport } = require("@connectrpc/connect-node");
const { createRuntimeClient } = require("@ottavo/generated/client/runtime-client");
const { TopicEventResponse_TopicEventResponseStatus: Status } = require("@ottavo/generated/spec/proto/runtime/v1/appcallback_pb");

const pubsubName = "pub_subs_demo";

/** The requests the app sends: pushed by the loop below, read by the client. */
function requestQueue() {
  const items = [];
  let wake;
  let ended = false;
  return {
    push(item) {
      items.push(item);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (items.length > 0) yield items.shift();
        else if (ended) return;
        else await new Promise((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };
}

async function main() {
  const topic = process.argv[2] ?? "shipments";
  const port = process.env.runtime_GRPC_PORT ?? "34904";
  const runtime = createRuntimeClient(createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
  const requests = requestQueue();
  process.once("SIGINT", () => requests.end());
  process.once("SIGTERM", () => requests.end());

  requests.push({ subscribeTopicEventsRequestType: { case: "initialRequest", value: { pubsubName, topic } } });
  for await (const response of runtime.subscribeTopicEvents(requests)) {
    const kind = response.subscribeTopicEventsResponseType;
    if (kind.case === "initialResponse") {
      console.log(`stream-subscriber: subscribed to topic '${topic}' of pubsub '${pubsubName}'`);
    } else if (kind.case === "eventMessage") {
      const event = kind.value;
      const data = JSON.parse(new TextDecoder().decode(event.data));
      console.log(`${topic} ${data.id}: ${data.item} (event ${event.id})`);
      // SUCCESS and DROP acknowledge; RETRY has the event delivered again.
      requests.push({ subscribeTopicEventsRequestType: { case: "eventProcessed", value: { id: event.id, status: { status: Status.SUCCESS } } } });
    }
  }
  console.log("stream-subscriber: stream closed");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
