import type { TracingConfig } from "../config/observability-config";
import { readAppInfo } from "../server/app-info";
import type { CallStep } from "../server/pipeline";
import type { SpanExportCounters } from "./span-export-queue";
import type { DeliveryTracing } from "./trace-scope";

/** A running tracer: the pipeline step (a span per rpc), delivery spans, and the exporter to flush at shutdown. */
export interface Tracing extends DeliveryTracing {
  readonly rpcStep: CallStep;
  /** Sends what is still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

export interface TracingSetup {
  /** service.name of the spans. */
  readonly serviceName: string;
  /** How export failures are reported. */
  readonly warn: (line: string) => void;
  /** The metrics' counters of exported and dropped spans, when metrics are on. */
  readonly counters?: SpanExportCounters;
}

/**
 * Starts tracing: spans are made by the runtime's main thread (runtime-tracing.ts)
 * and exported by OpenTelemetry's SDK in a worker thread, started with the first
 * batch of spans; the main thread never loads the SDK.
 */
export async function startTracing(config: TracingConfig, setup: TracingSetup): Promise<Tracing> {
  const { RuntimeTracing } = await import("./runtime-tracing.js");
  return new RuntimeTracing(config, {
    serviceName: setup.serviceName,
    serviceVersion: readAppInfo().version,
    warn: setup.warn,
    ...(setup.counters !== undefined ? { counters: setup.counters } : {}),
  });
}
