/**
 * A service or method the runtime does not serve answers UNIMPLEMENTED, as a
 * status every client reads, on every protocol: gRPC with grpc-go (grpcprobe,
 * built by the test tooling) and grpc-js; gRPC-Web and Connect (unary and
 * streaming) with Connect-ES; and plain HTTP as curl sends it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { AppCallback } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { goTool, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { fileRegistry, message, rpc, serviceOf } from "../../src/server/descriptor-builder";
import { demoConfig, demoFiles } from "../e2e/support";

const run = promisify(execFile);
let grpcprobe: string;
let runtime: RunningRuntime;

beforeAll(async () => {
  grpcprobe = goTool("grpcprobe");
  runtime = await startRuntime({ config: demoConfig(), files: demoFiles });
}, 600_000);

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

/** A service nobody serves, with a server-streaming rpc. */
const unknownFile = fileRegistry({
  name: "test/unknown.proto",
  package: "test.unknown",
  messages: [message("Empty", [])],
  services: [
    { name: "Nowhere", method: [rpc("Stream", ".test.unknown.Empty", ".test.unknown.Empty", { server: true })] },
  ],
});
const Nowhere = serviceOf(unknownFile, "test.unknown.Nowhere");

const unknownService = "unknown service spec.proto.runtime.v1.AppCallback";
const unknownMethod = "unknown method Nope for service spec.proto.runtime.v1.Runtime";

describe("gRPC", () => {
  it("grpc-go reads UNIMPLEMENTED with grpc-go's own words, for an unknown service and an unknown method", async () => {
    const probe = async (method: string) =>
      JSON.parse((await run(grpcprobe, ["-addr", `127.0.0.1:${runtime.apiPort}`, "-method", method])).stdout) as object;
    expect(await probe("/spec.proto.runtime.v1.AppCallback/ListTopicSubscriptions")).toEqual({ code: 12, message: unknownService });
    expect(await probe("/spec.proto.runtime.v1.Runtime/Nope")).toEqual({ code: 12, message: unknownMethod });
    // The connection stays usable: a served rpc right after.
    expect(await probe("/spec.proto.runtime.v1.Runtime/SayHello")).toMatchObject({ code: 0 });
  });

  it("grpc-js reads UNIMPLEMENTED for an unknown service and an unknown method", async () => {
    const client = new grpc.Client(`127.0.0.1:${runtime.apiPort}`, grpc.credentials.createInsecure());
    const call = (method: string) =>
      new Promise<grpc.ServiceError>((resolve, reject) =>
        client.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (error) =>
          error ? resolve(error) : reject(new Error("the call succeeded")),
        ),
      );
    const service = await call("/spec.proto.runtime.v1.AppCallback/ListTopicSubscriptions");
    expect({ code: service.code, details: service.details }).toEqual({ code: grpc.status.UNIMPLEMENTED, details: unknownService });
    const method = await call("/spec.proto.runtime.v1.Runtime/Nope");
    expect({ code: method.code, details: method.details }).toEqual({ code: grpc.status.UNIMPLEMENTED, details: unknownMethod });
    client.close();
  });
});

describe.each<[string, () => Transport]>([
  ["gRPC-Web over HTTP/1.1", () => createGrpcWebTransport({ baseUrl: runtime.apiUrl, httpVersion: "1.1" })],
  ["gRPC-Web over HTTP/2", () => createGrpcWebTransport({ baseUrl: runtime.apiUrl, httpVersion: "2" })],
  ["Connect JSON over HTTP/1.1", () => createConnectTransport({ baseUrl: runtime.apiUrl, httpVersion: "1.1" })],
  ["Connect binary over HTTP/2", () => createConnectTransport({ baseUrl: runtime.apiUrl, httpVersion: "2", useBinaryFormat: true })],
  ["gRPC (Connect-ES)", () => createGrpcTransport({ baseUrl: runtime.apiUrl })],
])("%s (Connect-ES)", (_, transport) => {
  async function failure(call: Promise<unknown>): Promise<ConnectError> {
    const outcome = await call.then(
      () => new Error("the call succeeded"),
      (error: unknown) => error,
    );
    if (!(outcome instanceof ConnectError)) throw outcome;
    return outcome;
  }

  it("an unary rpc of an unknown service", async () => {
    const error = await failure(createClient(AppCallback, transport()).listTopicSubscriptions({}));
    expect([error.code, error.rawMessage]).toEqual([Code.Unimplemented, unknownService]);
  });

  it("a server-streaming rpc of an unknown service", async () => {
    const read = async () => {
      // The descriptor is built at run time, so the client's type knows no methods.
      const client = createClient(Nowhere, transport()) as unknown as { stream(request: object): AsyncIterable<unknown> };
      for await (const _ of client.stream({}));
    };
    const error = await failure(read());
    expect([error.code, error.rawMessage]).toEqual([Code.Unimplemented, "unknown service test.unknown.Nowhere"]);
  });
});

describe("plain HTTP, as curl sends it", () => {
  it("Connect JSON: HTTP 404 with Connect's error body", async () => {
    const response = await fetch(`${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/Nope`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: "unimplemented", message: unknownMethod });
  });
});
