import type { AdapterContext, MetadataFieldSpec, RawMetadata } from "@ottavo/component-runtime";
import {
  declaredAdapters,
  type CapabilityAdapterFactory,
  type CapabilityComponents,
  type CapabilityFeatures,
} from "@ottavo/generated/components/registry";
import { fail, sameSet } from "./assertions";
import { bindingSuite } from "./binding-cases";
import { caseScope, type ConformanceCapability, type ConformanceCase, type ConformanceFixture, type ConformanceSuite } from "./conformance-case";
import { fileSuite } from "./file-cases";
import { secretSuite } from "./secret-cases";
import { configurationSuite } from "./configuration-cases";
import { lockSuite } from "./lock-cases";
import { pubsubSuite } from "./pubsub-cases";
import { sequencerSuite } from "./sequencer-cases";
import { stateSuite } from "./state-cases";

/** An adapter to prove: its factory (ours or a vendor's) and the config to create it with. */
export interface ConformanceTarget {
  readonly factory: CapabilityAdapterFactory;
  /**
   * Raw metadata, as a config file gives it. A function is called each time a
   * component is created, for values known only once a backend has started (a port).
   */
  readonly metadata: RawMetadata | (() => RawMetadata);
  /** Settings beside metadata (AdapterContext.settings); cases may lay their own over them. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Names the target in the test report; defaults to `<type> <capability>`. */
  readonly label?: string;
  /** What the cases need to know of the backend (the binding suite's echo operation). */
  readonly fixture?: ConformanceFixture;
}

/** Every suite, by capability. */
export const conformanceSuites: { readonly [K in ConformanceCapability]: ConformanceSuite<K> } = {
  state: stateSuite,
  lock: lockSuite,
  sequencer: sequencerSuite,
  configuration: configurationSuite,
  pubsub: pubsubSuite,
  file: fileSuite,
  secret: secretSuite,
  binding: bindingSuite,
};

export function hasConformanceSuite(capability: string): capability is ConformanceCapability {
  return Object.prototype.hasOwnProperty.call(conformanceSuites, capability);
}

/** Milliseconds a case may take unless it asks for more; creating a component over the network is included. */
const DEFAULT_CASE_TIMEOUT_MS = 10_000;

/**
 * Registers the conformance suite of the target's capability with jest (describe
 * and it): the core cases, the cases of every feature the factory declares, and,
 * for every feature of the capability it does not declare, a case proving the
 * component does not report it. Each case gets a fresh component and a unique key
 * prefix, and closes what it opened.
 */
export function describeConformance(target: ConformanceTarget): void {
  const capability = target.factory.capability;
  switch (capability) {
    case "state":
      return describeSuite(stateSuite, target);
    case "lock":
      return describeSuite(lockSuite, target);
    case "sequencer":
      return describeSuite(sequencerSuite, target);
    case "configuration":
      return describeSuite(configurationSuite, target);
    case "pubsub":
      return describeSuite(pubsubSuite, target);
    case "file":
      return describeSuite(fileSuite, target);
    case "secret":
      return describeSuite(secretSuite, target);
    case "binding":
      return describeSuite(bindingSuite, target);
    default:
      throw new Error(
        `no conformance suite for capability '${capability}' (adapter '${target.factory.type}'); ` +
          `suites exist for ${Object.keys(conformanceSuites).join(", ")}`,
      );
  }
}

function describeSuite<K extends ConformanceCapability>(suite: ConformanceSuite<K>, target: ConformanceTarget): void {
  const { factory } = target;
  const declared: readonly string[] = factory.features;
  const features = suite.features.filter((f) => declared.includes(f));
  const open = async (settings: Readonly<Record<string, unknown>>): Promise<CapabilityComponents[K]> => {
    const given = typeof target.metadata === "function" ? target.metadata() : target.metadata;
    const metadata = layMetadata(given, suite.metadata ?? {}, factory.metadata);
    // The factory's capability is K (describeConformance dispatched on it), so is its component.
    return (await factory.create(metadata, contextFor(suite.capability, { ...target.settings, ...settings }))) as CapabilityComponents[K];
  };
  const label = target.label ?? `${factory.type} ${factory.capability}`;

  describe(`conformance: ${label}`, () => {
    describe("features", () => {
      for (const c of featureCases(suite, declared)) it(c.name, () => runCase(open, undefined, c, target.fixture));
      const spec = declaredAdapters.find((d) => d.capability === factory.capability && d.type === factory.type);
      if (spec !== undefined) {
        it("declares the features spec/components gives it", () =>
          sameSet(declared, spec.features, `features of adapter '${spec.type}' (${spec.capability}) in spec/components`));
      }
    });

    for (const group of ["core", ...features] as const) {
      const cases: readonly ConformanceCase<CapabilityComponents[K], CapabilityFeatures[K]>[] = suite.cases[group];
      const runnable = cases.filter((c) => (c.alsoRequires ?? []).every((f) => declared.includes(f)));
      describe(group, () => {
        for (const c of runnable) {
          const needs = group === "core" ? undefined : [group, ...(c.alsoRequires ?? [])];
          it(c.name, () => runCase(open, needs, c, target.fixture), c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS);
        }
      });
    }
  });
}

/**
 * The features cases, both ways: the component reports exactly what its factory
 * declares (and only features the capability has), and, one case per feature it
 * does not declare, it does not report that feature.
 */
export function featureCases<K extends ConformanceCapability>(
  suite: ConformanceSuite<K>,
  declared: readonly string[],
): ConformanceCase<CapabilityComponents[K]>[] {
  const known: readonly string[] = suite.features;
  const exact: ConformanceCase<CapabilityComponents[K]> = {
    name: `reports exactly the features it declares [${declared.join(", ")}], all known to the ${suite.capability} capability`,
    async run(component) {
      const unknown = declared.filter((f) => !known.includes(f));
      if (unknown.length > 0) fail(`declares ${unknown.join(", ")}, not features of ${suite.capability} (it has ${known.join(", ") || "none"})`);
      sameSet([...component.features], declared, "features the component reports");
    },
  };
  const absent = known
    .filter((f) => !declared.includes(f))
    .map(
      (feature): ConformanceCase<CapabilityComponents[K]> => ({
        name: `does not report ${feature}, which it does not declare`,
        async run(component) {
          if ((component.features as ReadonlySet<string>).has(feature)) {
            fail(`reports ${feature} without declaring it: declare it and pass its cases, or stop reporting it`);
          }
        },
      }),
    );
  return [exact, ...absent];
}

/**
 * Runs one case on a fresh component: checks the component reports the features
 * the case needs, runs it, then closes everything it opened. A failing close fails
 * the case too (closing is part of the contract), without hiding the case's own failure.
 */
export async function runCase<C extends CapabilityComponents[ConformanceCapability]>(
  open: (settings: Readonly<Record<string, unknown>>) => Promise<C>,
  needs: readonly string[] | undefined,
  conformanceCase: ConformanceCase<C>,
  fixture: ConformanceFixture = {},
): Promise<void> {
  const scope = caseScope(open, fixture);
  let failure: { error: unknown } | undefined;
  try {
    const component = await scope.env.open();
    const missing = (needs ?? []).filter((f) => !(component.features as ReadonlySet<string>).has(f));
    if (missing.length > 0) fail(`declares ${missing.join(", ")} but the component does not report ${missing.length > 1 ? "them" : "it"}`);
    await conformanceCase.run(component, scope.env);
  } catch (error) {
    failure = { error };
  }
  try {
    await scope.close();
  } catch (error) {
    if (failure === undefined) fail(`close: expected success, got ${error instanceof Error ? error.message : String(error)}`);
  }
  if (failure !== undefined) throw failure.error;
}

/**
 * The target's metadata with the suite's laid over it, for the fields the adapter
 * declares; the target's value of such a field goes, whichever name it used, so
 * the field is not given twice.
 */
export function layMetadata(given: RawMetadata, suite: RawMetadata, fields: readonly MetadataFieldSpec[]): RawMetadata {
  const laid: Record<string, unknown> = { ...given };
  for (const [name, value] of Object.entries(suite)) {
    const field = fields.find((f) => f.name === name || f.aliases.includes(name));
    if (field === undefined) continue;
    for (const key of [field.name, ...field.aliases]) delete laid[key];
    laid[name] = value;
  }
  return laid;
}

function contextFor(capability: ConformanceCapability, settings: Readonly<Record<string, unknown>>): AdapterContext {
  return { componentName: `conformance_${capability}`, appId: "conformance", configDir: process.cwd(), settings };
}
