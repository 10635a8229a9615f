import { Code, ConnectError } from "@connectrpc/connect";
import type { Resiliency } from "../resiliency/resiliency";
import type { InvocationRequest, InvocationResponse } from "./invocation";
import { invocationOperation } from "./invocation-policies";
import type { InvocationTargets } from "./invocation-targets";

/**
 * Runs one invocation: finds the target for its id and calls it, under the
 * resiliency policies of that id when there are any (timeouts, retries, circuit
 * breaker).
 */
export class Invoker {
  constructor(
    readonly targets: InvocationTargets,
    /** Why an id has no target, for the NOT_FOUND message (what the config could add). */
    private readonly missingHint: string,
    private readonly resiliency?: Resiliency,
  ) {}

  async invoke(request: InvocationRequest): Promise<InvocationResponse> {
    const target = await this.targets.resolve(request.id, request.hops);
    if (target === undefined) {
      throw new ConnectError(`no invocation target '${request.id}': ${this.missingHint}`, Code.NotFound);
    }
    const runner = this.resiliency?.forApp(request.id);
    if (runner === undefined) return target.invoke(request);
    return runner.run(invocationOperation(target, request), request.signal);
  }
}
