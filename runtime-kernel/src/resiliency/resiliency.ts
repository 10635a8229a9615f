import { PolicyRunner } from "./policy-runner";
import type { ResiliencySpec } from "./resiliency-spec";

/**
 * The configured policies, one runner per target that has any. A runner holds
 * its target's circuit breaker, so it lives as long as the runtime.
 */
export class Resiliency {
  private readonly runners = new Map<string, PolicyRunner>();

  constructor(private readonly spec: ResiliencySpec) {}

  /** The runner for an invocation target id (Dapr's targets.apps), or undefined when none applies. */
  forApp(id: string): PolicyRunner | undefined {
    let runner = this.runners.get(id);
    if (runner === undefined) {
      const policies = this.spec.apps.get(id);
      if (policies === undefined) return undefined;
      runner = new PolicyRunner(id, policies);
      this.runners.set(id, runner);
    }
    return runner;
  }
}
