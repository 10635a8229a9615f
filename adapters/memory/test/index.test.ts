import { declaredAdapters } from "@ottavo/generated/components/registry";
import { memoryAdapters } from "../src";
import { context } from "./support";

describe("memoryAdapters", () => {
  it("holds the seven declared memory adapters, as spec/components declares them", () => {
    const held = memoryAdapters.map((f) => `${f.capability}/${f.type}`).sort();
    expect(held).toEqual([
      "configuration/in-memory",
      "hello/helloworld",
      "lock/in-memory",
      "nameresolution/static",
      "pubsub/in-memory",
      "sequencer/in-memory",
      "state/in-memory",
    ]);
    for (const factory of memoryAdapters) {
      const declared = declaredAdapters.find((d) => d.capability === factory.capability && d.type === factory.type);
      expect(declared?.features).toEqual(factory.features);
    }
  });

  it("creates each with default metadata, healthy and reporting its declared features", async () => {
    for (const factory of memoryAdapters) {
      const component = await factory.create({}, context());
      try {
        expect([...component.features].sort()).toEqual([...factory.features].sort());
        await expect(component.health?.()).resolves.toBeUndefined();
      } finally {
        await component.close();
      }
    }
  });
});
