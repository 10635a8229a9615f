/**
 * InvokeService to an HTTP service started by the test, through the built runtime:
 * the published layotto SDK's invoker (as Layotto's own SDK tests call
 * HelloService:1.0 on 127.0.0.1:8889) and raw grpc-js over Layotto's protos, with
 * the target configured in Ottavo YAML and in Layotto's config.json (MOSN's
 * channel -> listener -> router -> cluster chain).
 */
import * as grpc from "@grpc/grpc-js";
import { Client, RuntimeTypes } from "layotto";
import { startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { layottoStub, rejection, type Message, type RuntimeStub } from "../e2e/layotto-stub";
import { startService, type ServiceRequest, type TestService } from "./support";

const { Verb } = RuntimeTypes.HTTPExtension;

let service: TestService;
let yamlRuntime: RunningRuntime;
let layottoRuntime: RunningRuntime;
/** How many more calls to /flaky answer 503. */
let flakyLeft = 0;

/** The HTTP service: echoes JSON, answers /status/<n> with that status, /slow never, /big with 8 MiB. */
function answer(request: ServiceRequest, response: import("node:http").ServerResponse) {
  const [path, query = ""] = request.url.split("?");
  if (path.startsWith("/status/")) {
    response.statusCode = Number(path.slice("/status/".length));
    response.setHeader("content-type", "text/plain");
    return response.end(`the service says ${response.statusCode}`);
  }
  if (path === "/slow") return; // never answers
  if (path === "/flaky" && flakyLeft > 0) {
    flakyLeft--;
    response.statusCode = 503;
    return response.end("not yet");
  }
  if (path === "/bytes") {
    response.setHeader("content-type", "application/octet-stream");
    return response.end(request.body);
  }
  response.setHeader("content-type", "application/json");
  response.setHeader("x-service", "e2e");
  response.end(
    JSON.stringify({
      method: request.method,
      path,
      query,
      contentType: request.headers["content-type"] ?? null,
      header: request.headers["x-caller"] ?? null,
      body: request.body.toString("utf8"),
    }),
  );
}

const layottoConfig = (port: number) =>
  JSON.stringify({
    servers: [
      {
        routers: [
          {
            router_config_name: "http_router",
            virtual_hosts: [
              {
                name: "http_host",
                domains: ["*"],
                routers: [{ match: { headers: [{ name: "id", value: "HelloService:1.0" }] }, route: { cluster_name: "http_server" } }],
              },
            ],
          },
        ],
        listeners: [
          {
            name: "grpc",
            address: "127.0.0.1:0",
            bind_port: true,
            filter_chains: [
              {
                filters: [
                  {
                    type: "grpc",
                    config: {
                      server_name: "runtime",
                      grpc_config: {
                        rpcs: { mosn: { config: { channel: [{ size: 16, protocol: "http", listener: "egress_runtime_http" }] } } },
                      },
                    },
                  },
                ],
              },
            ],
          },
          { name: "actuator", address: "127.0.0.1:0", bind_port: true, filter_chains: [] },
          {
            name: "egress_runtime_http",
            type: "egress",
            address: "0.0.0.0:12221",
            bind_port: true,
            filter_chains: [
              {
                filters: [
                  {
                    type: "proxy",
                    config: { downstream_protocol: "Http1", router_config_name: "http_router", upstream_protocol: "Http1" },
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
    cluster_manager: {
      clusters: [{ name: "http_server", type: "SIMPLE", lb_type: "LB_RANDOM", hosts: [{ address: `127.0.0.1:${port}` }] }],
    },
  });

beforeAll(async () => {
  service = await startService(answer);
  [yamlRuntime, layottoRuntime] = await Promise.all([
    startRuntime({
      config: `app: { id: caller }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
limits: { maxReceiveMessageBytes: 16777216 }
invoke:
  targets:
    HelloService:1.0: { url: "${service.url}" }
    slow-service: { url: "${service.url}", timeout: 300ms }
    flaky-service: { url: "${service.url}" }
resiliency:
  policies:
    retries: { twice: { policy: constant, duration: 10ms, maxRetries: 2 } }
  targets:
    apps: { flaky-service: { retry: twice } }
`,
    }),
    startRuntime({ config: layottoConfig(service.port) }),
  ]);
});

afterAll(async () => {
  const codes = await Promise.all([yamlRuntime?.stop(), layottoRuntime?.stop()]);
  expect(codes).toEqual([0, 0]);
  expect(yamlRuntime.stderr()).toBe("");
  await service.close();
});

describe.each([
  ["Ottavo YAML invoke.targets", () => yamlRuntime],
  ["Layotto config.json rpcs (mosn http channel)", () => layottoRuntime],
])("the layotto SDK's invoker, target from %s", (_, runtime) => {
  let client: Client;
  beforeAll(() => (client = new Client(String(runtime().apiPort), "127.0.0.1")));
  afterAll(() => client.close());

  it("GETs with a query (the SDK's default verb) and reads the JSON answer", async () => {
    const answer = await client.invoker.invoke({ id: "HelloService:1.0", method: "/hello?name=ottavo&n=1" });
    expect(answer).toEqual({
      contentType: "application/json",
      content: { method: "GET", path: "/hello", query: "name=ottavo&n=1", contentType: null, header: null, body: "" },
    });
  });

  it("POSTs a JSON body, forwarding the caller's metadata as headers", async () => {
    const answer = await client.invoker.invoke({
      id: "HelloService:1.0",
      method: "/orders",
      httpVerb: Verb.POST,
      data: { item: "tea", qty: 2 },
      requestMeta: { "x-caller": "sdk" },
    });
    expect(answer.content).toEqual({
      method: "POST",
      path: "/orders",
      query: "",
      contentType: "application/json",
      header: "sdk",
      body: '{"item":"tea","qty":2}',
    });
  });

  it("PUTs text and DELETEs", async () => {
    const put = await client.invoker.invoke({ id: "HelloService:1.0", method: "/orders/1", httpVerb: Verb.PUT, data: "plain" });
    expect(put.content).toMatchObject({ method: "PUT", contentType: "text/plain; charset=UTF-8", body: "plain" });
    const del = await client.invoker.invoke({ id: "HelloService:1.0", method: "/orders/1", httpVerb: Verb.DELETE });
    expect(del.content).toMatchObject({ method: "DELETE", path: "/orders/1" });
  });

  it("answers a 404 of the service as NOT_FOUND and a 500 as UNKNOWN, with the status and body", async () => {
    const notFound = (await client.invoker.invoke({ id: "HelloService:1.0", method: "/status/404" }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect([notFound.code, notFound.details, notFound.metadata.get("dapr-http-status")]).toEqual([grpc.status.NOT_FOUND, "Not Found", ["404"]]);
    expect(Buffer.from(notFound.metadata.get("grpc-status-details-bin")[0] as Buffer).toString("latin1")).toContain("the service says 404");
    const failed = (await client.invoker.invoke({ id: "HelloService:1.0", method: "/status/500" }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect([failed.code, failed.details, failed.metadata.get("dapr-http-status")]).toEqual([
      grpc.status.UNKNOWN,
      "Internal Server Error",
      ["500"],
    ]);
  });
});

describe("raw grpc-js over Layotto's protos", () => {
  let stub: RuntimeStub;
  beforeAll(() => {
    stub = layottoStub(yamlRuntime.apiPort);
  });
  afterAll(() => stub.close());

  function invoke(request: Message, options: { metadata?: grpc.Metadata; deadlineMs?: number } = {}) {
    return new Promise<{ response: Message; headers: grpc.Metadata }>((resolve, reject) => {
      let headers = new grpc.Metadata();
      const call = (stub.InvokeService as (...args: unknown[]) => grpc.ClientUnaryCall).call(
        stub,
        request,
        options.metadata ?? new grpc.Metadata(),
        options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs },
        (error: grpc.ServiceError | null, response: Message) => (error ? reject(error) : resolve({ response, headers })),
      );
      call.on("metadata", (received: grpc.Metadata) => (headers = received));
    });
  }

  it("sends verb, query string, content type and data, and gets the answer's headers as response metadata", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("x-caller", "grpc-js");
    const { response, headers } = await invoke(
      {
        id: "HelloService:1.0",
        message: {
          method: "items",
          content_type: "application/json",
          data: { type_url: "", value: Buffer.from('{"q":1}') },
          http_extension: { verb: "PATCH", querystring: "a=1" },
        },
      },
      { metadata },
    );
    expect(response.content_type).toBe("application/json");
    const body = JSON.parse(Buffer.from((response.data as { value: Buffer }).value).toString("utf8"));
    expect(body).toEqual({ method: "PATCH", path: "/items", query: "a=1", contentType: "application/json", header: "grpc-js", body: '{"q":1}' });
    expect(headers.get("x-service")).toEqual(["e2e"]);
    expect(headers.get("dapr-http-status")).toEqual(["200"]);
  });

  it("forwards the caller's metadata from the gRPC fast path's raw headers: repeated values joined, gRPC's, the user agent and the runtime's own left out", async () => {
    const metadata = new grpc.Metadata();
    metadata.add("x-multi", "one");
    metadata.add("x-multi", "two");
    metadata.set("x-single", "alone");
    metadata.set("dapr-api-token", "never-forwarded");
    metadata.set("ottavo-invoke-hops", "0");
    const before = service.received.length;
    await invoke({ id: "HelloService:1.0", message: { method: "headers", http_extension: { verb: "GET" } } }, { metadata });
    const received = service.received.slice(before).find((r) => r.url === "/headers")!;
    expect([received.headers["x-multi"], received.headers["x-single"]]).toEqual(["one, two", "alone"]);
    const names = Object.keys(received.headers);
    for (const absent of ["dapr-api-token", "ottavo-invoke-hops", "te", "user-agent", "grpc-accept-encoding", "content-type"]) {
      expect([absent, names.includes(absent)]).toEqual([absent, false]);
    }
  });

  it("a slow service: the caller's deadline answers DEADLINE_EXCEEDED, and so does the target's configured timeout", async () => {
    const byCaller = await rejection(invoke({ id: "HelloService:1.0", message: { method: "slow" } }, { deadlineMs: 200 }));
    expect(byCaller.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const byTarget = await rejection(invoke({ id: "slow-service", message: { method: "slow" } }));
    expect([byTarget.code, byTarget.details]).toEqual([
      grpc.status.DEADLINE_EXCEEDED,
      `HTTP service 'slow-service' (${service.url}) did not answer within 300 ms`,
    ]);
  });

  it("retries a flaky service as the resiliency section says", async () => {
    flakyLeft = 2;
    const { response } = await invoke({ id: "flaky-service", message: { method: "flaky", http_extension: { verb: "GET" } } });
    expect(response.content_type).toBe("application/json");
    expect(flakyLeft).toBe(0);
  });

  it("carries an 8 MiB body there and back intact (the API's receive limit raised to 16 MiB)", async () => {
    const wide = layottoStub(yamlRuntime.apiPort, {
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
      "grpc.max_send_message_length": 16 * 1024 * 1024,
    });
    const body = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 11)) & 0xff;
    const response = await new Promise<Message>((resolve, reject) =>
      (wide.InvokeService as (...args: unknown[]) => void).call(
        wide,
        { id: "HelloService:1.0", message: { method: "bytes", data: { type_url: "", value: body } } },
        (error: grpc.ServiceError | null, answer: Message) => (error ? reject(error) : resolve(answer)),
      ),
    );
    wide.close();
    expect(Buffer.compare((response.data as { value: Buffer }).value, body)).toBe(0);
  });
});
