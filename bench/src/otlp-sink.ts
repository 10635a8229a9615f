/**
 * An OTLP/HTTP traces endpoint that reads and discards every export, as a
 * collector that keeps up would: the runtime's observability cost is measured
 * against it (main.ts), with nothing of a real backend's speed in the figure.
 * Started as a child process by main.ts; prints "port <n>" once listening and
 * how many spans it took when its stdin closes; runs until killed.
 */
import * as http from "node:http";

let received = 0;
const server = http.createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    received++;
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`port ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.stdin.on("end", () => {
  process.stderr.write(`otlp-sink: ${received} export requests\n`);
  process.exit(0);
});
process.stdin.resume();
