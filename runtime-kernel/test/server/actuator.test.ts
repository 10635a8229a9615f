import { ActuatorServer } from "../../src/server/actuator";
import { aggregateHealth, type HealthReport } from "../../src/server/health";

describe("the actuator", () => {
  let readiness: HealthReport;
  let actuator: ActuatorServer;
  let base: string;

  beforeAll(async () => {
    readiness = aggregateHealth({ runtime_startup: { status: "INIT", details: { reason: "starting" } } });
    actuator = await ActuatorServer.start(
      { kind: "tcp", host: "127.0.0.1", port: 0 },
      {
        liveness: async () => aggregateHealth({ runtime_startup: { status: "UP", details: { reason: "" } } }),
        readiness: async () => readiness,
        info: () => ({ name: "ottavo", version: "0.1.0", compiled: "" }),
      },
    );
    if (actuator.address.kind !== "tcp") throw new Error("expected tcp");
    base = `http://127.0.0.1:${actuator.address.port}`;
  });

  afterAll(() => actuator.close());

  it("answers liveness with Layotto's body and 200 when UP", async () => {
    const response = await fetch(`${base}/actuator/health/liveness`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.text()).toBe('{"status":"UP","components":{"runtime_startup":{"status":"UP","details":{"reason":""}}}}');
  });

  it("answers 503 with the body still present when INIT or DOWN", async () => {
    let response = await fetch(`${base}/actuator/health/readiness`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: "INIT",
      components: { runtime_startup: { status: "INIT", details: { reason: "starting" } } },
    });
    readiness = aggregateHealth({
      runtime_startup: { status: "UP", details: { reason: "" } },
      "state.state_demo": { status: "DOWN", details: { reason: "health check failed" } },
    });
    response = await fetch(`${base}/actuator/health/readiness`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { status: string }).status).toBe("DOWN");
  });

  it("answers info", async () => {
    const response = await fetch(`${base}/actuator/info`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"app":{"name":"ottavo","version":"0.1.0","compiled":""}}');
  });

  it("answers 404 for an unknown path and 405 for another method", async () => {
    expect((await fetch(`${base}/actuator/health/everything`)).status).toBe(404);
    expect((await fetch(`${base}/`)).status).toBe(404);
    const post = await fetch(`${base}/actuator/info`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});
