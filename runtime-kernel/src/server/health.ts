/** Layotto's health states: starting, healthy, unhealthy. */
export type HealthStatus = "INIT" | "UP" | "DOWN";

/** One indicator's report, as the actuator prints it. */
export interface ComponentHealth {
  readonly status: HealthStatus;
  readonly details?: Readonly<Record<string, string>>;
}

/** The body of /actuator/health/{liveness,readiness}. */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly components: Readonly<Record<string, ComponentHealth>>;
}

/** Layotto's rule: DOWN if any is DOWN, else INIT if any is INIT, else UP (also when there are none). */
export function aggregateHealth(components: Readonly<Record<string, ComponentHealth>>): HealthReport {
  const statuses = Object.values(components).map((c) => c.status);
  const status: HealthStatus = statuses.includes("DOWN") ? "DOWN" : statuses.includes("INIT") ? "INIT" : "UP";
  return { status, components };
}

/**
 * 200 when UP, 503 otherwise. Upstream Layotto answers 500 here while its docs
 * say 503; we follow the docs, since 503 is what probes and load balancers expect
 * of a service that is starting or draining.
 */
export function healthHttpStatus(status: HealthStatus): number {
  return status === "UP" ? 200 : 503;
}

/** Where the runtime is in its life, as the runtime_startup indicator reports it. */
export type RuntimePhase = "starting" | "serving" | "shutting-down";

/**
 * Layotto's runtime_startup indicator: INIT with reason "starting" until the API
 * listens, UP with an empty reason while serving, DOWN with reason
 * "shutting down" once shutdown begins.
 */
export function runtimeStartupHealth(phase: RuntimePhase): ComponentHealth {
  switch (phase) {
    case "starting":
      return { status: "INIT", details: { reason: "starting" } };
    case "serving":
      return { status: "UP", details: { reason: "" } };
    case "shutting-down":
      return { status: "DOWN", details: { reason: "shutting down" } };
  }
}

/** What readiness needs to know of one component. */
export interface HealthTarget {
  /** The key in the report, e.g. "state.state_demo". */
  readonly key: string;
  readonly health?: () => Promise<void>;
}

/**
 * Asks each component whether its backend answers, all at once, each bounded by
 * timeoutMs. A rejection or a timeout is DOWN with a fixed reason: the error text
 * is not shown, as an adapter's message may carry a metadata value.
 */
export async function checkComponents(
  targets: readonly HealthTarget[],
  timeoutMs: number,
): Promise<Record<string, ComponentHealth>> {
  const checked = await Promise.all(
    targets.map(async (target): Promise<[string, ComponentHealth]> => [target.key, await checkOne(target, timeoutMs)]),
  );
  return Object.fromEntries(checked);
}

async function checkOne(target: HealthTarget, timeoutMs: number): Promise<ComponentHealth> {
  if (!target.health) return { status: "UP" };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ComponentHealth>((resolve) => {
    timer = setTimeout(() => resolve({ status: "DOWN", details: { reason: "health check timed out" } }), timeoutMs);
  });
  const answer = Promise.resolve()
    .then(() => target.health!())
    .then(
      (): ComponentHealth => ({ status: "UP" }),
      (): ComponentHealth => ({ status: "DOWN", details: { reason: "health check failed" } }),
    );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
