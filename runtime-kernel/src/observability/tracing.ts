import type { TracingConfig } from "../config/observability-config";
import type { CallStep } from "../server/pipeline";
import type { DeliveryTracing } from "./trace-scope";

/** A running tracer: the pipeline step (a span per rpc), delivery spans, and the exporter to flush at shutdown. */
export interface Tracing extends DeliveryTracing {
  readonly rpcStep: CallStep;
  /** Sends what is still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry tracing. The SDK and the OTLP exporter are loaded here,
 * only when the config turns tracing on: their import is ~150-250 ms of CPU and
 * several MB that a runtime without tracing never pays.
 */
export async function startTracing(config: TracingConfig, serviceName: string): Promise<Tracing> {
  const { OtelTracing } = await import("./otel-tracing.js");
  return new OtelTracing(config, serviceName);
}
