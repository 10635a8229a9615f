/**
 * The HTTP service of the invocation bench: answers every request with a small
 * JSON body, the cheapest honest app. Started as a child process by
 * invoke-bench.ts; prints "port <n>" once listening; runs until killed.
 */
import * as http from "node:http";

const body = Buffer.from('{"hello":"bench"}');
const server = http.createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    response.end(body);
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`port ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
