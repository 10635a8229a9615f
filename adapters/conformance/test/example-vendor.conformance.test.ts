import { MetadataError } from "@ottavo/component-runtime";
import { describeConformance } from "@ottavo/conformance";
import { exampleVendorSequencer } from "./fixtures/example-vendor-sequencer";

// A vendor-style adapter declaring SEGMENT, so the SEGMENT cases run in the default test run too.
describeConformance({ factory: exampleVendorSequencer, metadata: {}, label: "example-vendor sequencer (SEGMENT)" });

describeConformance({ factory: exampleVendorSequencer, metadata: { start: "41", idKind: "Padded" }, label: "example-vendor sequencer, typed metadata given" });

describe("example-vendor's own metadata schema", () => {
  const context = { componentName: "seq", appId: "app", configDir: "/tmp", settings: {} };

  it("is validated like the spec's: defaults, aliases, oneOf and min, every problem at once", async () => {
    const error = await exampleVendorSequencer.create({ startAfter: "-1", idKind: "hex" }, context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetadataError);
    expect((error as MetadataError).problems).toEqual([
      "metadata field 'startAfter' must be at least 0, not -1",
      `metadata field 'idKind' must be one of "plain", "padded", not "hex"`,
    ]);
    const seq = await exampleVendorSequencer.create({ start: 41 }, context);
    expect(await seq.nextId({ key: "k", metadata: {} })).toBe(42n);
    await seq.close();
  });

  it("is guarded by the capability's request checks: a segment size below 1 never reaches it", async () => {
    const seq = await exampleVendorSequencer.create({}, context);
    if (!seq.features.has("SEGMENT") || !("reserveSegment" in seq)) throw new Error("expected SEGMENT");
    const error = await seq.reserveSegment({ key: "k", size: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: "INVALID_ARGUMENT", message: "reserveSegment: request.size must be at least 1, not 0" });
    // The sentinel: the refused call reserved nothing, so the next id is the first.
    expect(await seq.nextId({ key: "k", metadata: {} })).toBe(1n);
    await seq.close();
  });

  it("is carried by the factory, so the registry and the docs see it", () => {
    expect(exampleVendorSequencer.metadata.map((f) => f.name)).toEqual(["startAfter", "idKind", "owner"]);
  });
});
