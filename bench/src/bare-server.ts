/**
 * A baseline for group 3a: the Runtime service's SayHello on a bare Connect-ES
 * server (node:http2, h2c), with none of the kernel (no config, components,
 * dispatcher, interceptors). The runtime's SayHello over gRPC divided by this
 * one's is the kernel's own share of a unary call. Started as a child process by
 * main.ts; prints "port <n>" once listening; runs until killed.
 */
import * as http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";

const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(Runtime, {
      // What the helloworld component answers.
      async sayHello(request) {
        return { hello: request.name ? `greetings, ${request.name}` : "greetings" };
      },
    }),
});

const server = http2.createServer({}, handler);
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`port ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
// Stops with its parent: a closed stdin means the bench is gone.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
