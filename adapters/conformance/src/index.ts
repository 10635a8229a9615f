/**
 * @ottavo/conformance: the contract of each capability as executable cases, run
 * against any adapter factory (ours or a vendor's) with describeConformance.
 */
export {
  describeConformance,
  conformanceSuites,
  featureCases,
  hasConformanceSuite,
  layMetadata,
  runCase,
  type ConformanceTarget,
} from "./describe-conformance";
export {
  caseScope,
  uniquePrefix,
  type CapabilityCases,
  type CaseScope,
  type ConformanceCapability,
  type ConformanceCase,
  type ConformanceEnv,
  type ConformanceFixture,
  type ConformanceSuite,
} from "./conformance-case";
export { stateCases, stateSuite } from "./state-cases";
export { lockCases, lockSuite } from "./lock-cases";
export { sequencerCases, sequencerSuite } from "./sequencer-cases";
export { configurationCases, configurationSuite } from "./configuration-cases";
export { pubsubCases, pubsubSuite, PUBSUB_CASE_METADATA } from "./pubsub-cases";
export { fileCases, fileSuite } from "./file-cases";
export { secretCases, secretSuite, SECRET_FIXTURE } from "./secret-cases";
export { bindingCases, bindingSuite } from "./binding-cases";
export { holdsFor, sleep, waitFor } from "./deadline";
export { isAdapterFactory, loadVendorTargets, VENDOR_USAGE, type VendorTargets } from "./vendor-targets";
