import { ConnectError } from "@connectrpc/connect";
import type { TracingConfig } from "../config/observability-config";
import type { CallInfo, CallOutcome, CallStep } from "../server/pipeline";
import { grpcCodeName } from "./code-names";
import { plainSpanExportCounters, SpanExportQueue, type SpanExportCounters } from "./span-export-queue";
import { epochMillis, SpanRecord, spanKind, statusCode, type AttributeValue } from "./span-records";
import { traceScopeKey, type OpenSpan, type TraceContext, type TraceScope } from "./trace-scope";
import type { Tracing } from "./tracing";
import { formatTraceparent, newSpanId, normalizeTracestate, parseTraceparent, sampledFlag, TraceIdRatio, traceparentFlags, traceparentStart } from "./w3c-trace-context";

export interface RuntimeTracingOptions {
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** Where failures of the export are reported (once until it works again). */
  readonly warn: (line: string) => void;
  /** The runtime's metrics' counters; counted here only when metrics are off. */
  readonly counters?: SpanExportCounters;
  /** For tests: the queue's bound, the export worker's script. */
  readonly maxQueueSize?: number;
  readonly workerScript?: string;
}

/**
 * Tracing done by the runtime's main thread itself, exported with OpenTelemetry:
 * W3C trace context (the caller's traceparent and tracestate), parent-based
 * sampling by trace-id ratio (the SDK's ParentBased(TraceIdRatioBased)
 * decisions, w3c-trace-context.ts), span and trace ids, and a plain record
 * (span-records.ts) of each sampled span. Records are written in batches as
 * OTLP/JSON export requests with the service's resource (otlp-json.ts), which a
 * worker thread sends with OpenTelemetry's OTLP/HTTP export
 * (span-export-queue.ts, span-export-worker.ts).
 *
 * The SDK is not loaded in the main thread: there it made node's HTTP/2 and
 * stream code serve every call more slowly, sampled or not (README, Tracing).
 * Spans are parented explicitly (the caller's traceparent, the call's span
 * handed to component operations through the call's context values), with no
 * async_hooks and so no cost on calls between spans.
 */
export class RuntimeTracing implements Tracing {
  private readonly sampler: TraceIdRatio;
  readonly exports: SpanExportQueue;
  readonly counters: SpanExportCounters;

  constructor(config: TracingConfig, options: RuntimeTracingOptions) {
    this.sampler = new TraceIdRatio(config.sampleRatio);
    this.counters = options.counters ?? plainSpanExportCounters();
    this.exports = new SpanExportQueue({
      settings: { url: config.endpoint, headers: { ...config.headers } },
      resource: { "service.name": options.serviceName, "service.version": options.serviceVersion },
      scope: { name: "ottavo", version: options.serviceVersion },
      exportIntervalMs: config.exportIntervalMs,
      counters: this.counters,
      warn: options.warn,
      ...(options.maxQueueSize !== undefined ? { maxQueueSize: options.maxQueueSize } : {}),
      ...(options.workerScript !== undefined ? { workerScript: options.workerScript } : {}),
    });
    this.exports.startWorker();
  }

  /**
   * A SERVER span per rpc, parented on the caller's traceparent. A unary call is
   * sampled here before anything is made: one that is not gets no span, no
   * context values and no end, so at a 1 % ratio 99 % of calls cost a header
   * lookup (and the traceparent's check when there is one) or one random number.
   * Such a call is served as with tracing off: the caller's traceparent, if any,
   * travels on unchanged (PublishEvent's CloudEvent). A stream always gets a
   * scope (recorded or not): its events' delivery spans are made through it.
   */
  readonly rpcStep: CallStep = {
    name: "tracing",
    begin: (call) => {
      const header = call.header("traceparent");
      const flags = header === undefined ? -1 : traceparentFlags(header);
      if (!call.streaming) {
        if (flags < 0) {
          if (!this.sampler.draw()) return;
          return this.rpcSpan(call, this.sampler.traceId(), undefined, undefined);
        }
        if ((flags & sampledFlag) === 0) return;
        const at = traceparentStart(header!);
        const tracestate = call.header("tracestate");
        return this.rpcSpan(call, header!.slice(at + 3, at + 35), header!.slice(at + 36, at + 52), tracestate ? normalizeTracestate(tracestate) : undefined);
      }
      const parent = parseTraceparent(header, call.header("tracestate"));
      const root = parent === undefined ? this.sampler.newTrace() : undefined;
      const traceId = parent?.traceId ?? root!.traceId;
      const sampled = parent === undefined ? root!.sampled : (parent.flags & sampledFlag) !== 0;
      if (sampled) return this.rpcSpan(call, traceId, parent?.spanId, parent?.tracestate);
      call.values.set(traceScopeKey, new UnrecordedScope(this, traceId, newSpanId(), parent?.tracestate));
      return;
    },
  };

  delivery(pubsub: string, topic: string, parent: TraceContext): OpenSpan & { readonly context: TraceContext } {
    return this.deliverySpan(pubsub, topic, parent, "callback");
  }

  async shutdown(): Promise<void> {
    await this.exports.shutdown();
  }

  /** Records a finished span. */
  finish(span: SpanRecord, error?: unknown): void {
    if (error !== undefined) {
      span.statusCode = statusCode.error;
      span.statusMessage = grpcCodeName(ConnectError.from(error).code);
    }
    span.endMs = epochMillis();
    this.exports.add(span);
  }

  /**
   * A span for one event handed to the app (through its OnTopicEvent callback, or
   * a SubscribeTopicEvents stream), child of the trace the event carries (or of a
   * new trace); its context goes to the app whether it is sampled or not.
   */
  deliverySpan(pubsub: string, topic: string, parentTrace: TraceContext, via: "callback" | "stream"): OpenSpan & { readonly context: TraceContext } {
    const parent = parseTraceparent(parentTrace.traceparent, parentTrace.tracestate);
    const root = parent === undefined ? this.sampler.newTrace() : undefined;
    const traceId = parent?.traceId ?? root!.traceId;
    const sampled = parent === undefined ? root!.sampled : (parent.flags & sampledFlag) !== 0;
    const spanId = newSpanId();
    const tracestate = parent?.tracestate;
    const context = contextOf(traceId, spanId, sampled, tracestate);
    if (!sampled) return { context, end: () => undefined };
    const span = new SpanRecord(`${topic} deliver`, spanKind.producer, traceId, spanId, parent?.spanId, parent !== undefined, tracestate, epochMillis(), {
      "messaging.system": "ottavo",
      "messaging.operation.type": "deliver",
      "messaging.destination.name": topic,
      "ottavo.pubsub": pubsub,
      "ottavo.delivery": via,
    });
    return { context, end: (error?: unknown) => this.finish(span, error) };
  }

  private rpcSpan(call: CallInfo, traceId: string, parentSpanId: string | undefined, tracestate: string | undefined): RpcSpan {
    const attributes: Record<string, AttributeValue> = {
      "rpc.system": "grpc",
      "rpc.service": call.service,
      "rpc.method": call.method,
      "ottavo.protocol": call.protocol,
    };
    const span = new SpanRecord(`${call.service}/${call.method}`, spanKind.server, traceId, newSpanId(), parentSpanId, parentSpanId !== undefined, tracestate, epochMillis(), attributes);
    call.values.set(traceScopeKey, new RecordedScope(this, span));
    return new RpcSpan(this, span);
  }
}

/** The rpc span's end (the step's end): the call's gRPC status. */
class RpcSpan {
  constructor(
    private readonly tracing: RuntimeTracing,
    private readonly span: SpanRecord,
  ) {}

  end(outcome: CallOutcome): void {
    this.span.attributes["rpc.grpc.status_code"] = outcome.code ?? 0;
    if (outcome.code !== undefined) {
      this.span.statusCode = statusCode.error;
      this.span.statusMessage = grpcCodeName(outcome.code);
    }
    this.span.endMs = epochMillis();
    this.tracing.exports.add(this.span);
  }
}

/** A span's W3C trace context. */
function contextOf(traceId: string, spanId: string, sampled: boolean, tracestate: string | undefined): TraceContext {
  const traceparent = formatTraceparent(traceId, spanId, sampled ? sampledFlag : 0);
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/** What component operations of a call that is not sampled get: no span at all. */
const notRecorded: OpenSpan = { end: () => undefined };

/** The scope of a sampled call: its span's context, and children for its component operations. */
class RecordedScope implements TraceScope {
  private w3c: string | undefined;

  constructor(
    private readonly tracing: RuntimeTracing,
    private readonly span: SpanRecord,
  ) {}

  get traceId(): string {
    return this.span.traceId;
  }

  get traceparent(): string {
    return (this.w3c ??= formatTraceparent(this.span.traceId, this.span.spanId, sampledFlag));
  }

  get tracestate(): string | undefined {
    return this.span.tracestate;
  }

  component(capability: string, component: string, operation: string): OpenSpan {
    const child = new SpanRecord(
      `${capability}.${operation}`,
      spanKind.client,
      this.span.traceId,
      newSpanId(),
      this.span.spanId,
      false,
      this.span.tracestate,
      epochMillis(),
      { "ottavo.capability": capability, "ottavo.component": component, "ottavo.operation": operation },
    );
    return new ComponentSpan(this.tracing, child);
  }

  delivery(pubsub: string, topic: string, parentTrace: TraceContext): OpenSpan & { readonly context: TraceContext } {
    return this.tracing.deliverySpan(pubsub, topic, parentTrace, "stream");
  }
}

class ComponentSpan implements OpenSpan {
  constructor(
    private readonly tracing: RuntimeTracing,
    private readonly span: SpanRecord,
  ) {}

  end(error?: unknown): void {
    this.tracing.finish(this.span, error);
  }
}

/** The scope of a stream that is not sampled: its context (flagged not sampled) and delivery spans; nothing recorded below it. */
class UnrecordedScope implements TraceScope {
  readonly traceparent: string;

  constructor(
    private readonly tracing: RuntimeTracing,
    readonly traceId: string,
    spanId: string,
    readonly tracestate: string | undefined,
  ) {
    this.traceparent = formatTraceparent(traceId, spanId, 0);
  }

  component(): OpenSpan {
    return notRecorded;
  }

  delivery(pubsub: string, topic: string, parentTrace: TraceContext): OpenSpan & { readonly context: TraceContext } {
    return this.tracing.deliverySpan(pubsub, topic, parentTrace, "stream");
  }
}
