// An app that receives pub/sub events through its own gRPC server (AppCallback),
// written with the published layotto SDK's Server. The runtime finds it through
// the config's app.callbackPort (configs/pubsub-app.yaml: 9999, Layotto's
// grpc_callback_port), asks it which topics it wants (ListTopicSubscriptions) and
// calls it once per event (OnTopicEvent).
//
//   node examples/pubsub/subscriber.js            # listens on 9999, or $appcallback_GRPC_PORT
//
// A handler that returns acknowledges the event (SUCCESS); one that throws has it
// delivered again later (RETRY). An event of a topic the app lists but has no
// handler for is dropped (DROP).
const { Server } = require("layotto");

const pubsubName = "pub_subs_demo";
const topic = "orders";

async function main() {
  const server = new Server(process.env.appcallback_GRPC_PORT ?? "9999", undefined, { logger: quiet });
  let failuresLeft = 1; // the first order fails once, to show a redelivery
  // The handler, and the topic listed for ListTopicSubscriptions: layotto 1.18 needs both calls.
  server.pubsub.subscribe(pubsubName, topic, async (data, event) => {
    if (data.id === 1 && failuresLeft-- > 0) {
      console.log(`order ${data.id}: failing once (the runtime delivers it again)`);
      throw new Error("try again later");
    }
    console.log(`order ${data.id}: ${data.item} (event ${event.id}, metadata ${JSON.stringify(event.metadata)})`);
  });
  server.pubsub.addPubSubSubscription(pubsubName, topic);
  await server.start();
  console.log(`subscriber: listening on 127.0.0.1:${server.port} for topic '${topic}' of pubsub '${pubsubName}'`);

  const stop = () => server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** The SDK logs every call at info level; keep its warnings and errors only. */
const quiet = { info() {}, warn: console.warn, error() {} };

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
