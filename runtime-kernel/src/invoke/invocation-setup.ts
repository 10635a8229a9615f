import type { InvokeConfig } from "../config/invoke-config";
import { HttpTarget } from "./http-target";
import type { InvocationTarget } from "./invocation";
import { InvocationTargets } from "./invocation-targets";
import { Invoker } from "./invoker";
import { withTimeout } from "./timed-target";

/** The HTTP target of one configured service, with its timeout. */
export function httpTargetOf(
  config: { url: string; idHeader: boolean; timeoutMs?: number; maxSockets?: number },
  description: string,
): InvocationTarget {
  const target = new HttpTarget({ url: config.url, description, idHeader: config.idHeader, maxSockets: config.maxSockets });
  return config.timeoutMs === undefined ? target : withTimeout(target, config.timeoutMs);
}

/**
 * The runtime's invocation targets from its config: one HTTP target per
 * configured id, and Layotto's catch-all channel as a fallback.
 */
export function createInvoker(config: InvokeConfig): Invoker {
  const targets = new InvocationTargets();
  for (const target of config.targets) targets.register(target.id, httpTargetOf(target, `HTTP service '${target.id}' (${target.url})`));
  const { fallback } = config;
  if (fallback !== undefined) {
    const target = httpTargetOf(fallback, `HTTP service ${fallback.url}`);
    targets.addFallback(async () => target);
  }
  return new Invoker(targets, "configure it under invoke.targets (Ottavo YAML) or grpc_config.rpcs (Layotto), or add a nameresolution component");
}
