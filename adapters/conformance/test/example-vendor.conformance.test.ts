import { describeConformance } from "@ottavo/conformance";
import { exampleVendorSequencer } from "./fixtures/example-vendor-sequencer";

// A vendor-style adapter declaring SEGMENT, so the SEGMENT cases run in the default test run too.
describeConformance({ factory: exampleVendorSequencer, metadata: {}, label: "example-vendor sequencer (SEGMENT)" });
