/**
 * The actuator of the built runtime process through its life: ready as soon as
 * the ready line is printed, Layotto's paths and JSON shapes while running, and
 * readiness DOWN during a graceful shutdown that lets an in-flight call finish
 * and ends open subscription streams, then exit code 0.
 *
 * INIT (components still being created) is not observable from outside on the
 * in-memory components: they are built before the ready line can be read, and
 * the ready line is where a port-0 actuator's address is learnt. Unit tests of
 * the actuator and the runtime cover INIT.
 */
import type * as grpc from "@grpc/grpc-js";
import type * as http from "node:http";
import { startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { layottoStub, rejection, unary, type Message } from "./layotto-stub";
import { actuator, demoConfig, demoFiles, eventually, startHttpBackend, type HttpBackend } from "./support";

describe("while running", () => {
  let runtime: RunningRuntime;

  beforeAll(async () => {
    runtime = await startRuntime({ config: demoConfig(), files: demoFiles });
  });

  afterAll(async () => {
    if (runtime) expect(await runtime.stop()).toBe(0);
  });

  it("reports readiness UP, with every component, as soon as the ready line is out", async () => {
    expect(await actuator(runtime.actuatorUrl, "/actuator/health/readiness")).toEqual({
      status: 200,
      body: {
        status: "UP",
        components: {
          runtime_startup: { status: "UP", details: { reason: "" } },
          "hello.quick_start_demo": { status: "UP" },
          "state.state_demo": { status: "UP" },
          "lock.lock_demo": { status: "UP" },
          "sequencer.sequencer_demo": { status: "UP" },
          "configuration.config_demo": { status: "UP" },
          "pubsub.pub_subs_demo": { status: "UP" },
          "file.file_demo": { status: "UP" },
          "secret.secret_demo": { status: "UP" },
          "binding.http": { status: "UP" },
        },
      },
    });
  });

  it("reports liveness UP", async () => {
    expect(await actuator(runtime.actuatorUrl, "/actuator/health/liveness")).toEqual({
      status: 200,
      body: { status: "UP", components: { runtime_startup: { status: "UP", details: { reason: "" } } } },
    });
  });

  it("answers info with the app's name, version and build time", async () => {
    const { status, body } = await actuator(runtime.actuatorUrl, "/actuator/info");
    expect(status).toBe(200);
    expect(body).toEqual({ app: { name: "ottavo", version: expect.stringMatching(/^\d+\.\d+\.\d+/), compiled: expect.any(String) } });
    const { compiled } = (body as { app: { compiled: string } }).app;
    expect(Number.isNaN(Date.parse(compiled))).toBe(false);
  });

  it("answers 404 for an unknown path and 405 for another method on a known one", async () => {
    expect(await actuator(runtime.actuatorUrl, "/actuator/nope")).toEqual({ status: 404, body: { error: "not found" } });
    expect(await actuator(runtime.actuatorUrl, "/")).toEqual({ status: 404, body: { error: "not found" } });
    const post = await fetch(`${runtime.actuatorUrl}/actuator/health/readiness`, { method: "POST" });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
  });
});

describe("through a graceful shutdown", () => {
  let runtime: RunningRuntime;
  let backend: HttpBackend;
  /** Answers of the binding backend, held back until the test lets them go. */
  const held: http.ServerResponse[] = [];

  beforeAll(async () => {
    backend = await startHttpBackend((_request, response) => held.push(response));
    runtime = await startRuntime({ config: demoConfig({ bindingUrl: backend.url }), files: demoFiles });
  });

  afterAll(async () => {
    for (const response of held) if (!response.writableEnded) response.end();
    await runtime?.stop();
    await backend?.close();
  });

  it("turns readiness DOWN, ends subscriptions, finishes the in-flight call, then exits 0", async () => {
    const stub = layottoStub(runtime.apiPort);
    try {
      // A slow call: the binding's backend holds its answer until we release it.
      const slowCall = unary(stub, "InvokeBinding", { name: "http", operation: "get", metadata: { path: "/slow" } });
      // Awaited below; this only keeps an early failure of the test from leaving it unhandled.
      slowCall.catch(() => undefined);
      await eventually(async () => expect(held).toHaveLength(1));

      // A subscription stream, which would never end by itself.
      const subscription = (stub.SubscribeConfiguration as () => grpc.ClientDuplexStream<Message, Message>).call(stub);
      const subscriptionEnd = new Promise<grpc.ServiceError | undefined>((resolve) => {
        subscription.on("error", (error: grpc.ServiceError) => resolve(error));
        subscription.on("end", () => resolve(undefined));
      });
      subscription.on("data", () => undefined);
      subscription.write({ store_name: "config_demo", app_id: "e2e", keys: ["watched"] });
      // Once a save reaches the subscriber, the stream is open on the server.
      const pushed = new Promise<void>((resolve) => subscription.once("data", () => resolve()));
      await eventually(async () => {
        await unary(stub, "SaveConfiguration", { store_name: "config_demo", app_id: "e2e", items: [{ key: "watched", content: "v" }] });
        await Promise.race([pushed, new Promise((_, reject) => setTimeout(() => reject(new Error("no push yet")), 50))]);
      });

      const exited = runtime.stop("SIGTERM");
      await runtime.waitForStdout("ottavo: SIGTERM received; finishing in-flight calls (up to 10000 ms)\n");

      // The drain: readiness DOWN (503, body still there), liveness still UP so probes do not kill it.
      expect(await actuator(runtime.actuatorUrl, "/actuator/health/readiness")).toEqual({
        status: 503,
        body: { status: "DOWN", components: { runtime_startup: { status: "DOWN", details: { reason: "shutting down" } } } },
      });
      expect(await actuator(runtime.actuatorUrl, "/actuator/health/liveness")).toMatchObject({ status: 200, body: { status: "UP" } });

      // Streams are told to end; the client sees why.
      const ended = await subscriptionEnd;
      expect({ code: ended?.code, details: ended?.details }).toEqual({ code: 14, details: "the runtime is shutting down" });

      // No new calls: a fresh connection is refused.
      const late = layottoStub(runtime.apiPort);
      try {
        const refused = await rejection(unary(late, "SayHello", {}));
        expect(refused.code).toBe(14); // UNAVAILABLE
      } finally {
        late.close();
      }

      // The slow call is still in flight and finishes with its answer once the backend answers.
      expect(runtime.process.exitCode).toBeNull();
      held[0].end("finally");
      const answer = await slowCall;
      expect(Buffer.from(answer.data as Buffer).toString()).toBe("finally");

      expect(await exited).toBe(0);
      expect(runtime.stdout()).toMatch(/\nottavo: stopped\n$/);
      expect(runtime.stderr()).toBe("");
    } finally {
      stub.close();
    }
  });
});
