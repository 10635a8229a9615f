import { create, type DescService, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { HealthReport, HealthStatus } from "../health";
import { HealthService, ServingStatus } from "./health-descriptors";

/** What the health service reports from: the runtime's readiness, as the actuator shows it. */
export interface HealthSource {
  readiness(): Promise<HealthReport>;
}

export interface HealthServiceOptions {
  /** How often Watch streams re-read readiness to notice a change; 1 s by default. */
  readonly watchIntervalMs?: number;
}

/**
 * grpc.health.v1.Health following readiness (the actuator's report):
 * - "" (the whole server) and every service the router serves are SERVING while
 *   readiness is UP, NOT_SERVING while it is INIT or DOWN;
 * - each readiness indicator by its key ("runtime_startup", "state.state_demo",
 *   "lock.lock_demo", ...) is SERVING while that indicator is UP;
 * - any other name is NOT_FOUND for Check and SERVICE_UNKNOWN for Watch.
 * Watch sends the current status, then each change; one poller serves every
 * Watch stream, running only while some stream is open.
 */
export function registerHealth(router: ConnectRouter, source: HealthSource, options: HealthServiceOptions = {}): void {
  const services = () => new Set(router.handlers.map((handler) => handler.service.typeName));
  const statusOf = (report: HealthReport, name: string): ServingStatus => {
    if (name === "" || services().has(name)) return servingStatus(report.status);
    const component = report.components[name];
    return component === undefined ? ServingStatus.SERVICE_UNKNOWN : servingStatus(component.status);
  };
  const poller = new ReadinessPoller(source, options.watchIntervalMs ?? 1_000);
  const response = (status: ServingStatus) => create(HealthService.method.check.output, { status });

  const impl = {
    async check(request: HealthRequest) {
      const status = statusOf(await source.readiness(), request.service);
      if (status === ServingStatus.SERVICE_UNKNOWN) throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
      return response(status);
    },
    async list() {
      const report = await source.readiness();
      const statuses: Record<string, Message> = {};
      for (const name of ["", ...services(), ...Object.keys(report.components)]) statuses[name] = response(statusOf(report, name));
      return create(HealthService.method.list.output, { statuses });
    },
    async *watch(request: HealthRequest, context: HandlerContext) {
      let last: ServingStatus | undefined;
      for await (const report of poller.reports(context.signal)) {
        const status = statusOf(report, request.service);
        if (status === last) continue;
        last = status;
        yield response(status);
      }
    },
  };
  router.service(HealthService, impl as unknown as ServiceImpl<DescService>);
}

type HealthRequest = Message & { service: string };

function servingStatus(status: HealthStatus): ServingStatus {
  return status === "UP" ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
}

/**
 * Reads readiness once per interval while anyone listens, and hands each report
 * to every listener; a new listener gets a fresh report at once.
 */
class ReadinessPoller {
  private readonly listeners = new Set<(report: HealthReport) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: HealthSource,
    private readonly intervalMs: number,
  ) {}

  /** Reports until the signal aborts; the last one read after the abort (a drain reads NOT_SERVING) ends it. */
  async *reports(signal: AbortSignal): AsyncGenerator<HealthReport> {
    const queue: HealthReport[] = [];
    let wake: (() => void) | undefined;
    const listener = (report: HealthReport) => {
      queue.splice(0, queue.length, report); // only the newest matters
      wake?.();
    };
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort);
    this.listeners.add(listener);
    this.schedule();
    try {
      yield await this.source.readiness();
      while (!signal.aborted) {
        if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const report = queue.shift();
        if (report !== undefined && !signal.aborted) yield report;
      }
      // Streams end when the runtime shuts down: say so first, if the client still listens.
      yield await this.source.readiness();
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(async () => {
      this.timer = undefined;
      if (this.listeners.size === 0) return;
      const report = await this.source.readiness();
      for (const listener of this.listeners) listener(report);
      if (this.listeners.size > 0) this.schedule();
    }, this.intervalMs);
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
