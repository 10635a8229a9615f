/**
 * Runs the conformance suites against a vendor's adapter, named by environment
 * variables (see README.md): from the repository root,
 *
 *   CONFORMANCE_ADAPTER=<module> CONFORMANCE_METADATA='<json>' npx jest -c adapters/conformance/jest.vendor.config.js
 *
 * Same transform and module mapping as the repository's jest config; only this
 * one test file.
 */
const base = require("../../jest.config.js");

module.exports = {
  ...base,
  rootDir: "../..",
  testMatch: ["<rootDir>/adapters/conformance/test/vendor.conformance.ts"],
};
