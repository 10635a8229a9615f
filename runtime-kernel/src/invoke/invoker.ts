import { Code, ConnectError } from "@connectrpc/connect";
import type { InvocationRequest, InvocationResponse } from "./invocation";
import type { InvocationTargets } from "./invocation-targets";

/**
 * Runs one invocation: finds the target for its id and calls it. Policies that
 * wrap the call (timeouts, retries, circuit breakers) plug in as `around`.
 */
export class Invoker {
  constructor(
    readonly targets: InvocationTargets,
    /** Why an id has no target, for the NOT_FOUND message (what the config could add). */
    private readonly missingHint: string,
    private readonly around: CallPolicy = (_id, call, signal) => call(signal),
  ) {}

  async invoke(request: InvocationRequest): Promise<InvocationResponse> {
    const target = await this.targets.resolve(request.id, request.hops);
    if (target === undefined) {
      throw new ConnectError(`no invocation target '${request.id}': ${this.missingHint}`, Code.NotFound);
    }
    return this.around(request.id, (signal) => target.invoke(signal === request.signal ? request : { ...request, signal }), request.signal);
  }
}

/**
 * Wraps the calls to one target id: gets the call (which takes the signal the
 * attempt must honour) and the caller's signal, and returns the answer or throws.
 */
export type CallPolicy = (
  id: string,
  call: (signal: AbortSignal) => Promise<InvocationResponse>,
  signal: AbortSignal,
) => Promise<InvocationResponse>;
