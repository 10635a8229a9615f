import { randomBytes } from "node:crypto";
import type { Component, RawMetadata } from "@ottavo/component-runtime";
import type { CapabilityComponents, CapabilityFeatures } from "@ottavo/generated/components/registry";

/** The capabilities that have a conformance suite. */
export type ConformanceCapability = "state" | "lock" | "sequencer" | "configuration" | "pubsub" | "file" | "secret" | "binding";

/**
 * What a target tells the cases about its backend that the contract cannot know:
 * `echoOperation`, the binding operation whose system answers with the request's
 * data. Secret stores are seeded with SECRET_FIXTURE instead.
 */
export interface ConformanceFixture {
  readonly echoOperation?: string;
}

/**
 * One behaviour of the contract, checked against a live component.
 *
 * `run` is a method (not a function-typed property) on purpose: a case written for
 * `StateStoreWith<"BULK">` can then sit in a table of `StateStore` cases, and the
 * runner only hands it a component that declared BULK.
 */
export interface ConformanceCase<C, F extends string = string> {
  /** What a user would notice, as a sentence: "a stale etag is rejected with ABORTED". */
  readonly name: string;
  /** Features the case needs besides the one it is filed under (an ETAG check inside BULK, say). */
  readonly alsoRequires?: readonly F[];
  /** Milliseconds the case may take; time-dependent cases (TTL, lease expiry) ask for more. */
  readonly timeoutMs?: number;
  run(component: C, env: ConformanceEnv<C>): Promise<void>;
}

/** What a case gets besides its component. */
export interface ConformanceEnv<C> {
  /**
   * Unique to this case in this run (random per run, numbered per case): every key,
   * resource id and app id a case uses starts with it, so cases never collide, not
   * even on a backend shared with other runs.
   */
  readonly prefix: string;
  /** `prefix + name`. */
  key(name: string): string;
  /**
   * Opens another component of the adapter under test, with the target's metadata
   * and settings; `settings` are laid over the target's (a case's `biggerThan`, say).
   * It is closed with the case.
   */
  open(settings?: Readonly<Record<string, unknown>>): Promise<C>;
  /**
   * Closes a component the case got (its own, or one from open) before the case
   * ends, to restart it, say; it is then not closed again with the case.
   */
  close(component: C): Promise<void>;
  /** Registers a cleanup (closing a subscription, say) run after the case, before its components close. */
  defer(cleanup: () => Promise<void>): void;
  /** What the target told about its backend (ConformanceTarget.fixture); empty when it told nothing. */
  readonly fixture: ConformanceFixture;
}

/**
 * The cases of one capability: the core, and one list per feature of the IDL.
 * Because the keys are `"core" | CapabilityFeatures[K]`, a feature added to
 * spec/components makes the suite stop compiling until that feature has cases:
 * that is the point, so no feature ships unproven.
 */
export type CapabilityCases<K extends ConformanceCapability> = {
  readonly [G in "core" | CapabilityFeatures[K]]: readonly ConformanceCase<CapabilityComponents[K], CapabilityFeatures[K]>[];
};

/** A capability's suite: its name, every feature the IDL gives it (generated), and its cases. */
export interface ConformanceSuite<K extends ConformanceCapability> {
  readonly capability: K;
  readonly features: readonly CapabilityFeatures[K][];
  readonly cases: CapabilityCases<K>;
  /**
   * Metadata the cases rely on (short redelivery backoffs, say), laid over the
   * target's for every field the adapter declares (under its name or an alias).
   */
  readonly metadata?: RawMetadata;
}

/** An env for one case, and the means to close what it opened. */
export interface CaseScope<C> {
  readonly env: ConformanceEnv<C>;
  /** Runs the case's deferred cleanups and closes every component it opened; rejects with the first failure. */
  close(): Promise<void>;
}

/** One random tag per process run; cases add their own number to it. */
const runTag = randomBytes(4).toString("hex");
let caseCounter = 0;

/** A fresh, unique prefix: `conf-<run>-<n>-` (letters, digits and dashes only, safe in any backend's keys). */
export function uniquePrefix(): string {
  caseCounter += 1;
  return `conf-${runTag}-${caseCounter}-`;
}

/**
 * Builds the env of one case: `open` creates a component of the adapter under test
 * with the given extra settings. `close()` runs the deferred cleanups, then closes
 * every component opened.
 */
export function caseScope<C extends Component<string>>(
  open: (settings: Readonly<Record<string, unknown>>) => Promise<C>,
  fixture: ConformanceFixture = {},
): CaseScope<C> {
  const prefix = uniquePrefix();
  const opened: C[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  return {
    env: {
      prefix,
      fixture,
      key: (name) => prefix + name,
      async open(settings = {}) {
        const component = await open(settings);
        opened.push(component);
        return component;
      },
      async close(component) {
        const at = opened.indexOf(component);
        if (at < 0) throw new Error("env.close: this component was not opened by the case, or is closed already");
        opened.splice(at, 1);
        await component.close();
      },
      defer(cleanup) {
        cleanups.push(cleanup);
      },
    },
    async close() {
      // Cleanups latest first, like nested finally blocks; every step runs even when one fails.
      const failures: unknown[] = [];
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => failures.push(error));
      const closed = await Promise.allSettled(opened.splice(0).map((c) => c.close()));
      for (const result of closed) if (result.status === "rejected") failures.push(result.reason);
      if (failures.length > 0) throw failures[0];
    },
  };
}
