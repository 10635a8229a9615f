// Publishes a few orders through the runtime with the published layotto SDK's client.
//
//   node examples/pubsub/publisher.js [topic] [count]   # topic "orders", 3 orders by default
//
// The runtime is at 127.0.0.1:34904, or $runtime_GRPC_PORT (the SDK's own variable).
const { Client } = require("layotto");

async function main() {
  const topic = process.argv[2] ?? "orders";
  const count = Number(process.argv[3] ?? 3);
  const client = new Client();
  const items = ["tea", "scones", "jam", "cream"];
  for (let id = 1; id <= count; id++) {
    // data travels as JSON (application/json) inside a CloudEvents envelope; metadata passes through.
    await client.pubsub.publish({
      pubsubName: "pub_subs_demo",
      topic,
      data: { id, item: items[(id - 1) % items.length] },
      metadata: { region: "eu" },
    });
    console.log(`published order ${id} to '${topic}'`);
  }
  client.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
