import { parentPort, workerData } from "node:worker_threads";
import type { Attributes, SpanContext } from "@opentelemetry/api";
import { ExportResultCode, TraceState, hrTimeDuration, millisToHrTime } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base";
import type { ExportWorkerAnswer, ExportWorkerRequest, ExportWorkerSettings, SpanRecord } from "./span-records";

/**
 * The export thread of the runtime's spans (started by SpanExportQueue,
 * span-export-queue.ts): the OpenTelemetry SDK's OTLP/HTTP exporter, handed each
 * batch of span records the main thread posts as ReadableSpans. OpenTelemetry's
 * SDK runs only here: in the main thread, its code and its exporter's sockets
 * left node's stream and HTTP/2 code serving every call more slowly
 * (docs in the README's tracing part and the team's notes).
 */
function serve(port: NonNullable<typeof parentPort>, settings: ExportWorkerSettings): void {
  const exporter = new OTLPTraceExporter({
    url: settings.url,
    headers: { ...settings.headers },
    ...(settings.timeoutMillis !== undefined ? { timeoutMillis: settings.timeoutMillis } : {}),
  });
  const resource = resourceFromAttributes({ ...settings.resource });
  const scope = { name: settings.scope.name, version: settings.scope.version };
  port.on("message", (request: ExportWorkerRequest) => {
    if (request.kind !== "export" && request.kind !== "shutdown") {
      // A main thread of another build: it is answered, not left waiting.
      port.postMessage({ id: (request as { id?: number }).id ?? 0, ok: false, error: `unknown request ${String((request as { kind?: unknown }).kind)}` } satisfies ExportWorkerAnswer);
      return;
    }
    if (request.kind === "shutdown") {
      exporter.shutdown().then(
        () => port.postMessage({ id: request.id, ok: true } satisfies ExportWorkerAnswer),
        (error: unknown) => port.postMessage({ id: request.id, ok: false, error: describe(error) } satisfies ExportWorkerAnswer),
      );
      return;
    }
    let spans: ReadableSpan[];
    try {
      spans = request.spans.map((record) => readableSpan(record, resource, scope));
    } catch (error) {
      port.postMessage({ id: request.id, ok: false, error: describe(error) } satisfies ExportWorkerAnswer);
      return;
    }
    exporter.export(spans, (result) => {
      port.postMessage(
        (result.code === ExportResultCode.SUCCESS
          ? { id: request.id, ok: true }
          : { id: request.id, ok: false, error: describe(result.error ?? "the export failed") }) satisfies ExportWorkerAnswer,
      );
    });
  });
}

/** A span record as the ReadableSpan the SDK would have made of the same span. */
export function readableSpan(record: SpanRecord, resource: Resource, scope: { name: string; version: string }): ReadableSpan {
  const context: SpanContext = {
    traceId: record.traceId,
    spanId: record.spanId,
    // Every recorded span is sampled.
    traceFlags: 1,
    ...(record.tracestate !== undefined ? { traceState: new TraceState(record.tracestate) } : {}),
  };
  const parent: SpanContext | undefined =
    record.parentSpanId === undefined ? undefined : { traceId: record.traceId, spanId: record.parentSpanId, traceFlags: 1, isRemote: record.parentRemote };
  const startTime = millisToHrTime(record.startMs);
  const endTime = millisToHrTime(record.endMs);
  const events: TimedEvent[] = (record.events ?? []).map((event) => ({
    name: event.name,
    time: millisToHrTime(event.timeMs),
    ...(event.attributes !== undefined ? { attributes: event.attributes as Attributes } : {}),
    droppedAttributesCount: 0,
  }));
  return {
    name: record.name,
    kind: record.kind,
    spanContext: () => context,
    ...(parent !== undefined ? { parentSpanContext: parent } : {}),
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    ended: true,
    status: record.statusMessage === undefined ? { code: record.statusCode } : { code: record.statusCode, message: record.statusMessage },
    attributes: record.attributes,
    links: [],
    events,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

if (parentPort !== null && workerData !== null && typeof workerData === "object") serve(parentPort, workerData as ExportWorkerSettings);
