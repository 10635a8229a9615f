/**
 * gRPC server reflection and health checking, with the clients operators use:
 * grpcurl and grpc_health_probe (Go, built by the test tooling from
 * test-support/go), buf curl (node_modules), and grpc-js for Watch.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { goTool, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { HealthService, ServingStatus } from "../../src/server/health/health-descriptors";
import { demoConfig, demoFiles } from "../e2e/support";

const run = promisify(execFile);
const buf = path.resolve(__dirname, "..", "..", "..", "node_modules", ".bin", "buf");
let grpcurl: string;
let healthProbe: string;
let runtime: RunningRuntime;
let address: string;

beforeAll(async () => {
  // The first run builds the Go clients (a few minutes); later runs find them built.
  grpcurl = goTool("grpcurl");
  healthProbe = goTool("grpc-health-probe");
  runtime = await startRuntime({ config: demoConfig(), files: demoFiles });
  address = `127.0.0.1:${runtime.apiPort}`;
}, 600_000);

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

/** Runs a client and answers what it printed; a failing exit answers its output too (never throws). */
async function client(file: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

const runtimeServices = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "spec.proto.runtime.v1.Runtime"];

describe("server reflection", () => {
  it("grpcurl lists every service served, without a local schema", async () => {
    const listed = await client(grpcurl, ["-plaintext", address, "list"]);
    expect(listed).toMatchObject({ code: 0, stderr: "" });
    expect(listed.stdout.trim().split("\n")).toEqual(runtimeServices);
  });

  it("grpcurl describes a service, an rpc and a message from the generated descriptors", async () => {
    const service = await client(grpcurl, ["-plaintext", address, "describe", "spec.proto.runtime.v1.Runtime"]);
    expect(service.stdout).toContain("rpc GetState ( .spec.proto.runtime.v1.GetStateRequest ) returns ( .spec.proto.runtime.v1.GetStateResponse );");
    expect(service.stdout).toContain("rpc SubscribeTopicEvents ( stream .spec.proto.runtime.v1.SubscribeTopicEventsRequest ) returns ( stream .spec.proto.runtime.v1.SubscribeTopicEventsResponse );");
    const message = await client(grpcurl, ["-plaintext", address, "describe", "spec.proto.runtime.v1.GetNextIdResponse"]);
    expect(message.stdout).toMatch(/int64 next_id = 1 \[jstype = JS_STRING\];/);
    const health = await client(grpcurl, ["-plaintext", address, "describe", "grpc.health.v1.Health.Watch"]);
    expect(health.stdout).toContain("rpc Watch ( .grpc.health.v1.HealthCheckRequest ) returns ( stream .grpc.health.v1.HealthCheckResponse );");
  });

  it("grpcurl invokes rpcs with JSON it encodes from the reflected schema", async () => {
    const save = await client(grpcurl, [
      "-plaintext",
      "-d",
      JSON.stringify({ store_name: "state_demo", states: [{ key: "reflected", value: Buffer.from("via grpcurl").toString("base64") }] }),
      address,
      "spec.proto.runtime.v1.Runtime/SaveState",
    ]);
    expect(save).toMatchObject({ code: 0, stderr: "" });
    const got = await client(grpcurl, ["-plaintext", "-d", '{"store_name":"state_demo","key":"reflected"}', address, "spec.proto.runtime.v1.Runtime/GetState"]);
    expect(JSON.parse(got.stdout)).toEqual({ data: Buffer.from("via grpcurl").toString("base64"), etag: "1" });
    const failed = await client(grpcurl, ["-plaintext", "-d", '{"store_name":"nope","key":"k"}', address, "spec.proto.runtime.v1.Runtime/GetState"]);
    expect(failed.stderr).toContain("Code: InvalidArgument");
    expect(failed.stderr).toContain("Message: state store nope is not found");
  });

  it.each(["grpc-v1", "grpc-v1alpha"])("buf curl lists and calls through reflection (%s), over gRPC and Connect", async (protocol) => {
    const base = `http://${address}`;
    const listed = await client(buf, ["curl", "--http2-prior-knowledge", "--reflect-protocol", protocol, "--list-services", base]);
    expect(listed.stdout.trim().split("\n")).toEqual(runtimeServices);
    for (const wire of ["grpc", "connect", "grpcweb"]) {
      const said = await client(buf, [
        "curl",
        "--http2-prior-knowledge",
        "--reflect-protocol",
        protocol,
        "--protocol",
        wire,
        "-d",
        '{"service_name":"quick_start_demo","name":"buf"}',
        `${base}/spec.proto.runtime.v1.Runtime/SayHello`,
      ]);
      expect({ wire, ...said, stdout: JSON.parse(said.stdout) }).toEqual({ wire, code: 0, stderr: "", stdout: { hello: "greetings, buf" } });
    }
  });
});

describe("health checking (grpc.health.v1)", () => {
  it("grpc_health_probe reports the server SERVING, as Kubernetes probes ask it", async () => {
    const probed = await client(healthProbe, ["-addr", address]);
    // It prints on stderr; its exit code is what probes read.
    expect(probed).toMatchObject({ code: 0, stderr: "status: SERVING\n" });
    const service = await client(healthProbe, ["-addr", address, "-service", "spec.proto.runtime.v1.Runtime"]);
    expect(service).toMatchObject({ code: 0, stderr: "status: SERVING\n" });
    const unknown = await client(healthProbe, ["-addr", address, "-service", "nope"]);
    expect(unknown.code).not.toBe(0);
  });

  it("Check answers per component by its readiness key, and NOT_FOUND for a name that is none", async () => {
    const check = (service: string) => client(grpcurl, ["-plaintext", "-d", JSON.stringify({ service }), address, "grpc.health.v1.Health/Check"]);
    expect(JSON.parse((await check("state.state_demo")).stdout)).toEqual({ status: "SERVING" });
    expect(JSON.parse((await check("runtime_startup")).stdout)).toEqual({ status: "SERVING" });
    const unknown = await check("state.nope");
    expect(unknown.stderr).toContain("Code: NotFound");
    expect(unknown.stderr).toContain("Message: unknown service state.nope");
  });

  it("List names the server, every service and every component", async () => {
    const listed = JSON.parse((await client(grpcurl, ["-plaintext", address, "grpc.health.v1.Health/List"])).stdout) as {
      statuses: Record<string, { status: string }>;
    };
    expect(Object.keys(listed.statuses)).toEqual(expect.arrayContaining(["", ...runtimeServices, "runtime_startup", "state.state_demo", "lock.lock_demo"]));
    expect(new Set(Object.values(listed.statuses).map((s) => s.status))).toEqual(new Set(["SERVING"]));
  });

  it("the actuator still answers Layotto's readiness body", async () => {
    const response = await fetch(`${runtime.actuatorUrl}/actuator/health/readiness`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "UP", components: { runtime_startup: { status: "UP" } } });
  });
});

describe("Watch (grpc-js)", () => {
  const watch = (client: grpc.Client, service: string) =>
    client.makeServerStreamRequest(
      "/grpc.health.v1.Health/Watch",
      (request: { service: string }) => Buffer.from(toBinary(HealthService.method.watch.input, create(HealthService.method.watch.input, request))),
      (bytes: Buffer) => (fromBinary(HealthService.method.watch.output, bytes) as unknown as { status: number }).status,
      { service },
    );

  it("answers SERVICE_UNKNOWN for a name that is no service or component, and keeps watching", async () => {
    const rpc = new grpc.Client(address, grpc.credentials.createInsecure());
    const stream = watch(rpc, "nope");
    const first = await new Promise<number>((resolve, reject) => stream.once("data", resolve).once("error", reject));
    expect(first).toBe(ServingStatus.SERVICE_UNKNOWN);
    stream.cancel();
    rpc.close();
  });

  it("sends SERVING, then NOT_SERVING when the runtime begins to shut down, and ends the stream", async () => {
    const rpc = new grpc.Client(address, grpc.credentials.createInsecure());
    const stream = watch(rpc, "");
    const received: number[] = [];
    const ended = new Promise<grpc.StatusObject>((resolve) => stream.on("status", resolve));
    stream.on("error", () => undefined);
    await new Promise<void>((resolve) =>
      stream.on("data", (status: number) => {
        received.push(status);
        resolve();
      }),
    );
    expect(received).toEqual([ServingStatus.SERVING]);
    const stopped = runtime.stop();
    await ended;
    expect(received).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    rpc.close();
    expect(await stopped).toBe(0);
  });
});
