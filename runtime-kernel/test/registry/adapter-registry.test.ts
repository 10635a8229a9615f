import type { CapabilityAdapterFactory } from "@ottavo/generated/components/registry";
import { declaredAdapters } from "@ottavo/generated/components/registry";
import { httpAdapters } from "@ottavo/adapter-http";
import { localAdapters } from "@ottavo/adapter-local";
import { memoryAdapters } from "@ottavo/adapter-memory";
import { AdapterRegistry, createDefaultRegistry } from "../../src/registry/adapter-registry";

function fakeFactory(capability: "state" | "lock", type: string, features: string[]): CapabilityAdapterFactory {
  return {
    capability,
    type,
    features,
    metadata: [],
    create: () => Promise.reject(new Error("not used")),
  } as CapabilityAdapterFactory;
}

describe("the adapter registry", () => {
  it("holds the adapters of the memory, local and http packages, each matching its declaration in spec/components", () => {
    const registry = createDefaultRegistry();
    for (const factory of [...memoryAdapters, ...localAdapters, ...httpAdapters]) {
      expect(registry.get(factory.capability, factory.type)).toBe(factory);
      const declared = declaredAdapters.find((d) => d.capability === factory.capability && d.type === factory.type);
      expect([...factory.features].sort()).toEqual([...declared!.features].sort());
    }
    expect(registry.types("secret")).toEqual(expect.arrayContaining(["local.env", "local.file"]));
    expect(registry.get("state", "no-such-type")).toBeUndefined();
  });

  it("refuses a factory for an adapter spec/components does not declare", () => {
    expect(() => new AdapterRegistry([fakeFactory("state", "mystery", [])])).toThrow(
      "adapter 'mystery' (state) is not declared in spec/components; declare it and run make gen",
    );
  });

  it("refuses a factory whose features differ from the declaration", () => {
    expect(() => new AdapterRegistry([fakeFactory("lock", "in-memory", [])])).toThrow(
      "adapter 'in-memory' (lock) has features [] but spec/components declares [KEEPALIVE]",
    );
  });

  it("refuses the same adapter twice", () => {
    const factory = fakeFactory("lock", "in-memory", ["KEEPALIVE"]);
    expect(() => new AdapterRegistry([factory, factory])).toThrow("adapter 'in-memory' (lock) is registered twice");
  });
});
