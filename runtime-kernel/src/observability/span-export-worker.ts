import { parentPort, workerData } from "node:worker_threads";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPExporterBase } from "@opentelemetry/otlp-exporter-base";
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from "@opentelemetry/otlp-exporter-base/node-http";
import type { ExportWorkerAnswer, ExportWorkerRequest, ExportWorkerSettings } from "./span-records";

/** A batch as the main thread wrote it: the OTLP/JSON export request and how many spans it holds. */
interface EncodedBatch {
  readonly body: string;
  readonly spans: number;
}

/**
 * The request is already OTLP/JSON (otlp-json.ts). The endpoint's answer is read
 * as the SDK's JSON trace serializer reads it (the exporter logs a partial
 * success from it); that serializer's package is not loaded for it, as it also
 * loads protobuf code (≈ 30 ms of the worker's start).
 */
const encodedBatches: Parameters<typeof createOtlpHttpExportDelegate<EncodedBatch, object>>[1] = {
  serializeRequest: (batch) => Buffer.from(batch.body, "utf8"),
  deserializeResponse: (bytes) => {
    if (bytes.length === 0) return {};
    try {
      return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")) as object;
    } catch {
      return {};
    }
  },
};

/**
 * The export thread of the runtime's spans (started by SpanExportQueue,
 * span-export-queue.ts): OpenTelemetry's OTLP/HTTP export, as the SDK's
 * OTLPTraceExporter makes it (its HTTP transport, retries with backoff,
 * timeout, headers and environment variables, its handling of the answer),
 * sending each batch's request as the main thread wrote it. No part of the SDK
 * runs in the main thread: there its code and its exporter's sockets left node's
 * stream and HTTP/2 code serving every call more slowly (docs in the README's
 * tracing part and the team's notes).
 */
function serve(port: NonNullable<typeof parentPort>, settings: ExportWorkerSettings): void {
  const options = convertLegacyHttpOptions(
    { url: settings.url, headers: { ...settings.headers }, ...(settings.timeoutMillis !== undefined ? { timeoutMillis: settings.timeoutMillis } : {}) },
    "TRACES",
    "v1/traces",
    { "Content-Type": "application/json" },
  );
  const exporter = new OTLPExporterBase(createOtlpHttpExportDelegate(options, encodedBatches, "otlp_http_span_exporter", { name: "span", countItems: (batch) => batch.spans }, undefined));
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
    exporter.export({ body: request.body, spans: request.spans }, (result) => {
      port.postMessage(
        (result.code === ExportResultCode.SUCCESS
          ? { id: request.id, ok: true }
          : { id: request.id, ok: false, error: describe(result.error ?? "the export failed") }) satisfies ExportWorkerAnswer,
      );
    });
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

if (parentPort !== null && workerData !== null && typeof workerData === "object") serve(parentPort, workerData as ExportWorkerSettings);
