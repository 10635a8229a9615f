import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { describeConformance, hasConformanceSuite } from "@ottavo/conformance";
import { httpAdapters, httpBindingAdapter } from "@ottavo/adapter-http";

// The http binding against an echo endpoint on a free loopback port: a POST is
// answered with its own body, which is what the binding suite's echo operation needs.
let server: http.Server | undefined;
beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      response.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

function metadata(): Record<string, string> {
  if (server === undefined) throw new Error("the echo server did not start (see beforeAll)");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo` };
}

it("covers every adapter of the http package: the binding", () => {
  expect(httpAdapters.filter((f) => hasConformanceSuite(f.capability)).map((f) => `${f.type} ${f.capability}`)).toEqual(["http binding"]);
});

describeConformance({ factory: httpBindingAdapter, metadata, fixture: { echoOperation: "post" } });
