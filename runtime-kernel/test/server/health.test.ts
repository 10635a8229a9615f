import { aggregateHealth, checkComponents, healthHttpStatus, runtimeStartupHealth } from "../../src/server/health";

describe("health aggregation (Layotto's rules)", () => {
  const up = { status: "UP" } as const;
  const init = { status: "INIT" } as const;
  const down = { status: "DOWN" } as const;

  it.each([
    [{}, "UP"],
    [{ a: up }, "UP"],
    [{ a: up, b: init }, "INIT"],
    [{ a: init, b: down }, "DOWN"],
    [{ a: down, b: up, c: init }, "DOWN"],
    [{ a: up, b: up }, "UP"],
  ] as const)("%j is %s", (components, status) => {
    const report = aggregateHealth(components);
    expect(report.status).toBe(status);
    expect(report.components).toBe(components);
  });

  it("answers 200 only when UP, 503 otherwise", () => {
    expect(healthHttpStatus("UP")).toBe(200);
    expect(healthHttpStatus("INIT")).toBe(503);
    expect(healthHttpStatus("DOWN")).toBe(503);
  });

  it("reports runtime_startup as Layotto does", () => {
    expect(runtimeStartupHealth("starting")).toEqual({ status: "INIT", details: { reason: "starting" } });
    expect(runtimeStartupHealth("serving")).toEqual({ status: "UP", details: { reason: "" } });
    expect(runtimeStartupHealth("shutting-down")).toEqual({ status: "DOWN", details: { reason: "shutting down" } });
  });

  it("checks components at once: no health() is UP, a rejection or a timeout is DOWN without the error's text", async () => {
    const started = Date.now();
    const report = await checkComponents(
      [
        { key: "state.plain" },
        { key: "state.good", health: () => Promise.resolve() },
        { key: "state.bad", health: () => Promise.reject(new Error("redis://user:secret@10.0.0.1 refused")) },
        { key: "state.throws", health: () => { throw new Error("sync"); } },
        { key: "state.slow", health: () => new Promise<void>(() => undefined) },
      ],
      50,
    );
    expect(report).toEqual({
      "state.plain": { status: "UP" },
      "state.good": { status: "UP" },
      "state.bad": { status: "DOWN", details: { reason: "health check failed" } },
      "state.throws": { status: "DOWN", details: { reason: "health check failed" } },
      "state.slow": { status: "DOWN", details: { reason: "health check timed out" } },
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
