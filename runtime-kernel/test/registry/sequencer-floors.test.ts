import { create } from "@bufbuild/protobuf";
import { memoryAdapters } from "@ottavo/adapter-memory";
import { GetNextIdRequestSchema, SequencerOptions_AutoIncrement } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { ConfigError } from "../../src/config/config-error";
import { createRuntimeHandlerGroups } from "../../src/handlers";
import { kernelSettingsHooks } from "../../src/handlers/sequencer-floors";
import { buildComponents } from "../../src/registry/build-components";
import type { ResolvedComponent } from "../../src/registry/resolve-components";
import { contextFor } from "../handlers/support";

const factory = memoryAdapters.find((f) => f.capability === "sequencer" && f.type === "in-memory")!;
const context = { appId: "shop", configDir: "/tmp", file: "configs/x.yaml", settingsHooks: kernelSettingsHooks };

function sequencer(biggerThan: Record<string, unknown>, metadata: Record<string, unknown> = {}): ResolvedComponent {
  return {
    config: { capability: "sequencer", name: "ids", type: "in-memory", metadata, extras: { biggerThan } },
    factory,
    metadata,
    settings: { biggerThan },
  };
}

async function nextId(components: ResolvedComponent[], key: string): Promise<string> {
  const table = await buildComponents(components, context);
  const groups = createRuntimeHandlerGroups(table);
  const request = create(GetNextIdRequestSchema, { storeName: "ids", key, options: { increment: SequencerOptions_AutoIncrement.STRONG } });
  const { nextId } = await groups.sequencer.getNextId(request, contextFor("getNextId"));
  await Promise.all(table.all().map((e) => e.component.close()));
  return String(nextId);
}

describe("biggerThan floors name the keys apps ask for", () => {
  it("applies to the app's key under the default app-id prefix", async () => {
    expect(await nextId([sequencer({ orders: 100 })], "orders")).toBe("101");
    expect(await nextId([sequencer({ orders: 100 })], "invoices")).toBe("1");
  });

  it("applies under the other keyPrefix strategies too", async () => {
    expect(await nextId([sequencer({ orders: 7 }, { keyPrefix: "name" })], "orders")).toBe("8");
    expect(await nextId([sequencer({ orders: 7 }, { keyPrefix: "none" })], "orders")).toBe("8");
  });

  it("refuses a floor key containing ||", async () => {
    await expect(buildComponents([sequencer({ "a||b": 1 })], context)).rejects.toThrow(
      new ConfigError(["configs/x.yaml: sequencer component 'ids' (type 'in-memory'): biggerThan key 'a||b' can't contain '||'"]),
    );
  });
});
