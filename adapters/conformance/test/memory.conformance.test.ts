import { describeConformance, hasConformanceSuite } from "@ottavo/conformance";
import { memoryAdapters } from "@ottavo/adapter-memory";

// The embedded default proves itself against every suite there is for it.
const proven = memoryAdapters.filter((factory) => hasConformanceSuite(factory.capability));

it("covers the in-memory state, lock, sequencer, configuration and pubsub adapters", () => {
  expect(proven.map((f) => f.capability).sort()).toEqual(["configuration", "lock", "pubsub", "sequencer", "state"]);
});

for (const factory of proven) describeConformance({ factory, metadata: {} });
