/**
 * A finished span as plain data: what the main thread records of a sampled span
 * and writes, in batches, as an OTLP/JSON export request (otlp-json.ts) for the
 * export worker (span-export-worker.ts) to send. Nothing here loads
 * OpenTelemetry.
 */

/** OpenTelemetry's SpanKind values (@opentelemetry/api): OTLP's kind is one more. */
export const spanKind = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 } as const;

/** OpenTelemetry's SpanStatusCode values. */
export const statusCode = { unset: 0, ok: 1, error: 2 } as const;

export type AttributeValue = string | number | boolean;

/** An event in a span's life (OpenTelemetry's TimedEvent), at a time in milliseconds since the epoch. */
export interface SpanEventRecord {
  readonly name: string;
  readonly timeMs: number;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/**
 * One finished span. Times are milliseconds since the epoch with sub-millisecond
 * fractions (performance.timeOrigin + performance.now()).
 */
export class SpanRecord {
  endMs = 0;
  statusCode: number = statusCode.unset;
  statusMessage: string | undefined = undefined;
  events: SpanEventRecord[] | undefined = undefined;

  constructor(
    readonly name: string,
    readonly kind: number,
    readonly traceId: string,
    readonly spanId: string,
    /** The parent's span id; undefined for a root span. */
    readonly parentSpanId: string | undefined,
    /** Whether the parent is another process's span (a caller's traceparent, an event's). */
    readonly parentRemote: boolean,
    readonly tracestate: string | undefined,
    readonly startMs: number,
    readonly attributes: Record<string, AttributeValue>,
  ) {}
}

/** Milliseconds since the epoch, now, with the monotonic clock's resolution. */
export function epochMillis(): number {
  return performance.timeOrigin + performance.now();
}

/** What the export worker is started with. */
export interface ExportWorkerSettings {
  /** The OTLP/HTTP traces endpoint. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** How long one export may take, retries included (the exporter's default, 10 s, when absent). */
  readonly timeoutMillis?: number;
}

/** What the main thread posts to the worker: an export is the OTLP/JSON request of a batch (otlp-json.ts) and its number of spans. */
export type ExportWorkerRequest =
  | { readonly kind: "export"; readonly id: number; readonly body: string; readonly spans: number }
  | { readonly kind: "shutdown"; readonly id: number };

/** The worker's answer to the request of the same id. */
export interface ExportWorkerAnswer {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
}
