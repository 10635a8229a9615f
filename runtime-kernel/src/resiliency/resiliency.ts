import { PolicyRunner } from "./policy-runner";
import type { ResiliencySpec, TargetPolicies } from "./resiliency-spec";

/**
 * The configured policies, one runner per target that has any. A runner holds
 * its target's circuit breaker, so it lives as long as the runtime.
 */
export class Resiliency {
  private readonly runners = new Map<string, PolicyRunner>();

  constructor(private readonly spec: ResiliencySpec) {}

  /** The runner for an invocation target id (Dapr's targets.apps), or undefined when none applies. */
  forApp(id: string): PolicyRunner | undefined {
    return this.runner(`app\u0000${id}`, id, this.spec.apps.get(id));
  }

  /**
   * The runner for calls to a component (Dapr's targets.components.<name>.outbound),
   * or undefined when none applies. Components of different capabilities may
   * share a name in Ottavo's config: each gets a runner (and a breaker) of its own.
   */
  forComponent(capability: string, name: string): PolicyRunner | undefined {
    return this.runner(`component\u0000${capability}\u0000${name}`, name, this.spec.components.get(name));
  }

  /**
   * The runner for deliveries from a component to one subscriber (Dapr's
   * targets.components.<name>.inbound), or undefined when none applies. Each
   * subscriber (the app, each function) gets a runner and a breaker of its own, so
   * a dead function does not hold back the app's events. The subscriber's name
   * (the app id, the function's name) is what messages call it.
   */
  forInbound(componentName: string, subscriber: { readonly kind: "app" | "function"; readonly name: string }): PolicyRunner | undefined {
    const key = `inbound\u0000${componentName}\u0000${subscriber.kind}\u0000${subscriber.name}`;
    return this.runner(key, subscriber.name, this.spec.inbound.get(componentName));
  }

  private runner(key: string, target: string, policies: TargetPolicies | undefined): PolicyRunner | undefined {
    if (policies === undefined) return undefined;
    let runner = this.runners.get(key);
    if (runner === undefined) {
      runner = new PolicyRunner(target, policies);
      this.runners.set(key, runner);
    }
    return runner;
  }
}
