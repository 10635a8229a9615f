import { eventually, freePort } from "@ottavo/test-support";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { ConfigError } from "../src/config/config-error";
import { AdapterRegistry } from "../src/registry/adapter-registry";
import { Runtime, type RuntimeLog } from "../src/runtime";

/** A state adapter whose creation waits for a gate and whose health the test decides. */
function controllableAdapter(control: { created?: () => void; healthy: boolean; closed: string[] }): CapabilityAdapterFactory {
  return {
    capability: "state",
    type: "controlled",
    features: [],
    metadata: [{ name: "password", type: "string", required: false, sensitive: true, aliases: [], description: "" }],
    async create(_raw, context) {
      await new Promise<void>((resolve) => (control.created = resolve));
      return {
        features: new Set(),
        health: async () => {
          if (!control.healthy) throw new Error("backend at 10.0.0.7 refused");
        },
        close: async () => void control.closed.push(context.componentName),
      } as never;
    },
  } as CapabilityAdapterFactory;
}

const declarations = [{ capability: "state" as const, type: "controlled", features: [] }];

function quietLog(): RuntimeLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (l) => lines.push(l), warn: (l) => lines.push(l), error: (l) => lines.push(l) };
}

function configFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "ottavo-runtime-")), "ottavo.yaml");
  writeFileSync(file, text);
  return file;
}

describe("the runtime's stages and health", () => {
  it("reports INIT while components are created, UP while serving, DOWN for a failing component and while shutting down", async () => {
    const control: { created?: () => void; healthy: boolean; closed: string[] } = { healthy: true, closed: [] };
    const actuatorPort = await freePort();
    const file = configFile(`app: { id: t }
api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:${actuatorPort} }
components:
  state:
    orders: { type: controlled, metadata: { password: hunter2 } }
`);
    const log = quietLog();
    const starting = Runtime.start({
      configFile: file,
      shutdownTimeoutMs: 1000,
      log,
      registry: new AdapterRegistry([controllableAdapter(control)], declarations),
    });
    const readiness = async () => {
      const response = await fetch(`http://127.0.0.1:${actuatorPort}/actuator/health/readiness`);
      return { status: response.status, body: await response.text() };
    };

    await eventually(() => control.created !== undefined);
    expect(await readiness()).toEqual({
      status: 503,
      body: '{"status":"INIT","components":{"runtime_startup":{"status":"INIT","details":{"reason":"starting"}}}}',
    });
    control.created!();
    const runtime = await starting;
    expect(runtime.readyLine()).toMatch(/^ottavo: serving the API on 127\.0\.0\.1:\d+ and the actuator on 127\.0\.0\.1:\d+ \(1 component\)$/);

    expect(await readiness()).toEqual({
      status: 200,
      body: '{"status":"UP","components":{"runtime_startup":{"status":"UP","details":{"reason":""}},"state.orders":{"status":"UP"}}}',
    });
    control.healthy = false;
    const down = await readiness();
    expect(down).toEqual({
      status: 503,
      body: '{"status":"DOWN","components":{"runtime_startup":{"status":"UP","details":{"reason":""}},"state.orders":{"status":"DOWN","details":{"reason":"health check failed"}}}}',
    });
    expect(down.body).not.toMatch(/hunter2|10\.0\.0\.7/);

    await runtime.shutdown();
    expect(control.closed).toEqual(["orders"]);
    await expect(fetch(`http://127.0.0.1:${actuatorPort}/actuator/health/readiness`)).rejects.toThrow();
    expect(log.lines).toEqual([]);
  });

  it("reports a busy API port as a config problem and closes what it had started", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => blocker.once("listening", resolve));
    const { port } = blocker.address() as net.AddressInfo;
    const control: { created?: () => void; healthy: boolean; closed: string[] } = { healthy: true, closed: [] };
    const actuatorPort = await freePort();
    const file = configFile(`api: { address: 127.0.0.1:${port} }
actuator: { address: 127.0.0.1:${actuatorPort} }
components:
  state:
    orders: { type: controlled }
`);
    const starting = Runtime.start({
      configFile: file,
      shutdownTimeoutMs: 1000,
      log: quietLog(),
      registry: new AdapterRegistry([controllableAdapter(control)], declarations),
    });
    await eventually(() => control.created !== undefined);
    control.created!();
    await expect(starting).rejects.toThrow(
      new ConfigError([`${file}: the API cannot listen on 127.0.0.1:${port}: address already in use`]),
    );
    expect(control.closed).toEqual(["orders"]);
    // The actuator is closed again: its port is free.
    const again = net.createServer().listen(actuatorPort, "127.0.0.1");
    await new Promise((resolve, reject) => {
      again.once("listening", resolve);
      again.once("error", reject);
    });
    await new Promise((resolve) => again.close(resolve));
    await new Promise((resolve) => blocker.close(resolve));
  });
});
