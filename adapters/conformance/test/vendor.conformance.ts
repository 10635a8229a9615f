/**
 * The vendors' entry point: runs the conformance suites against the adapter
 * factories of any module, named by environment variables (see ../README.md):
 *
 *   CONFORMANCE_ADAPTER=./my-adapter.ts CONFORMANCE_METADATA='{"host":"..."}' \
 *     npx jest -c adapters/conformance/jest.vendor.config.js
 *
 * Not named *.test.ts on purpose: the default test run (make test) does not pick
 * it up; jest.vendor.config.js runs this file alone.
 */
import { describeConformance, loadVendorTargets } from "@ottavo/conformance";

const { targets, skipped } = loadVendorTargets(process.env, process.cwd());
if (skipped.length > 0) {
  console.warn(`conformance: no suite yet for ${skipped.join(", ")}; skipped`);
}
for (const target of targets) describeConformance(target);
