import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import type { AdapterContext } from "@ottavo/component-runtime";
import { ConfigError } from "../../src/config/config-error";
import type { ComponentConfig } from "../../src/config/runtime-config";
import { buildComponents } from "../../src/registry/build-components";
import type { ResolvedComponent } from "../../src/registry/resolve-components";

interface Made {
  name: string;
  closed: boolean;
  context: AdapterContext;
}

/** A factory that records what it made; `fail` names components whose creation rejects. */
function recordingFactory(made: Made[], fail: Set<string>): CapabilityAdapterFactory {
  return {
    capability: "state",
    type: "fake",
    features: [],
    metadata: [],
    async create(_raw, context) {
      await new Promise((resolve) => setTimeout(resolve, fail.has(context.componentName) ? 5 : 1));
      if (fail.has(context.componentName)) throw new Error(`backend for ${context.componentName} refused the connection`);
      const record: Made = { name: context.componentName, closed: false, context };
      made.push(record);
      return {
        features: new Set(),
        async close() {
          record.closed = true;
        },
      } as never;
    },
  } as CapabilityAdapterFactory;
}

function resolved(factory: CapabilityAdapterFactory, name: string, settings: Record<string, unknown> = {}): ResolvedComponent {
  const config: ComponentConfig = { capability: "state", name, type: "fake", metadata: { a: "1" }, extras: settings };
  return { config, factory, metadata: config.metadata, settings };
}

const context = { appId: "app1", configDir: "/etc/ottavo", file: "configs/x.yaml" };

describe("building components", () => {
  it("creates every component with its context and fills the table in config order", async () => {
    const made: Made[] = [];
    const factory = recordingFactory(made, new Set());
    const table = await buildComponents(
      [resolved(factory, "b", { biggerThan: { k: 1 } }), resolved(factory, "a")],
      context,
    );
    expect(table.list("state").map((e) => e.name)).toEqual(["b", "a"]);
    expect(table.get("state", "a")?.metadata).toEqual({ a: "1" });
    expect(made.find((m) => m.name === "b")?.context).toEqual({
      componentName: "b",
      appId: "app1",
      configDir: "/etc/ottavo",
      settings: { biggerThan: { k: 1 } },
    });
  });

  it("on any failure closes what was created and reports every failure", async () => {
    const made: Made[] = [];
    const factory = recordingFactory(made, new Set(["x", "z"]));
    const build = buildComponents([resolved(factory, "x"), resolved(factory, "y"), resolved(factory, "z")], context);
    await expect(build).rejects.toThrow(
      new ConfigError([
        "configs/x.yaml: state component 'x' (type 'fake'): backend for x refused the connection",
        "configs/x.yaml: state component 'z' (type 'fake'): backend for z refused the connection",
      ]),
    );
    expect(made.map((m) => [m.name, m.closed])).toEqual([["y", true]]);
  });
});
