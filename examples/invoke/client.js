// Calls a service through the runtime with the published layotto SDK's invoker.
//
//   node examples/invoke/client.js [id]     # HelloService:1.0 by default; "b" in the app-to-app example
//
// The runtime is at 127.0.0.1:34904, or $runtime_GRPC_PORT (the SDK's own variable).
const { Client, RuntimeTypes } = require("layotto");

async function main() {
  const id = process.argv[2] ?? "HelloService:1.0";
  const client = new Client();
  // GET is the SDK's default verb; a query may ride on the method.
  const hello = await client.invoker.invoke({ id, method: "/hello?name=ottavo" });
  console.log(`GET /hello: ${hello.content}`);
  // An object is sent as JSON; requestMeta travels as HTTP headers.
  const order = await client.invoker.invoke({
    id,
    method: "/orders",
    httpVerb: RuntimeTypes.HTTPExtension.Verb.POST,
    data: { item: "tea", qty: 2 },
    requestMeta: { "x-caller": "client.js" },
  });
  console.log(`POST /orders: ${JSON.stringify(order.content)}`);
  // A 404 of the service arrives as gRPC NOT_FOUND; its status and body ride along.
  try {
    await client.invoker.invoke({ id, method: "/nowhere" });
  } catch (error) {
    console.log(`GET /nowhere: code ${error.code} (${error.details}), HTTP ${error.metadata.get("dapr-http-status")[0]}`);
  }
  client.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
