import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Context, type Span, type TextMapGetter, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from "@opentelemetry/sdk-trace-base";
import { ConnectError } from "@connectrpc/connect";
import type { TracingConfig } from "../config/observability-config";
import type { CallInfo, CallOutcome, CallStep } from "../server/pipeline";
import { readAppInfo } from "../server/app-info";
import { grpcCodeName } from "./code-names";
import { traceScopeKey, type OpenSpan, type TraceContext, type TraceScope } from "./trace-scope";
import type { Tracing } from "./tracing";

const propagator = new W3CTraceContextPropagator();

const callHeaders: TextMapGetter<CallInfo> = {
  keys: () => ["traceparent", "tracestate"],
  get: (call, key) => call.header(key),
};

const traceHeaders: TextMapGetter<TraceContext> = {
  keys: () => ["traceparent", "tracestate"],
  get: (carrier, key) => (key === "traceparent" ? carrier.traceparent : key === "tracestate" ? carrier.tracestate : undefined),
};

/**
 * Tracing with the OpenTelemetry SDK, exported as OTLP/HTTP (JSON) in batches.
 * No global tracer provider or context manager is registered: spans are
 * parented explicitly (the caller's traceparent, the call's span handed to
 * component operations through the call's context values), which needs no
 * async_hooks and so costs nothing on calls between spans.
 */
export class OtelTracing implements Tracing {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly rootSampler: RootSampler;

  constructor(config: TracingConfig, serviceName: string) {
    this.rootSampler = new RootSampler(config.sampleRatio);
    const exporter = new OTLPTraceExporter({ url: config.endpoint, headers: { ...config.headers } });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": serviceName, "service.version": readAppInfo().version }),
      sampler: new ParentBasedSampler({ root: this.rootSampler }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: config.exportIntervalMs })],
    });
    this.tracer = this.provider.getTracer("ottavo", readAppInfo().version);
  }

  /**
   * A SERVER span per rpc, parented on the caller's traceparent. Unary calls are
   * sampled here, before anything is made (the same decision as the SDK's
   * parent-based ratio sampler): a call that is not sampled gets no span, no
   * context values and no end, so at a 1 % ratio 99 % of calls cost one header
   * lookup and a random number. Such a call is served as with tracing off: the
   * caller's traceparent, if any, travels on unchanged (PublishEvent's CloudEvent).
   * Streams keep a (possibly non-recording) span: their events' delivery spans
   * hang off it.
   */
  readonly rpcStep: CallStep = {
    name: "tracing",
    begin: (call) => {
      const parent = call.header("traceparent") === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, call, callHeaders);
      let sampledHere = false;
      if (!call.streaming) {
        const remote = parent === ROOT_CONTEXT ? undefined : trace.getSpanContext(parent);
        if (remote === undefined) {
          if (!this.rootSampler.draw()) return;
          sampledHere = true;
        } else if ((remote.traceFlags & TraceFlags.SAMPLED) === 0) return;
      }
      this.rootSampler.decided = sampledHere;
      let span: Span;
      try {
        span = this.tracer.startSpan(
          `${call.service}/${call.method}`,
          {
            kind: SpanKind.SERVER,
            attributes: { "rpc.system": "grpc", "rpc.service": call.service, "rpc.method": call.method, "ottavo.protocol": call.protocol },
          },
          parent,
        );
      } finally {
        this.rootSampler.decided = false;
      }
      call.values.set(traceScopeKey, new SpanScope(this.tracer, parent, span));
      return (outcome: CallOutcome) => {
        span.setAttribute("rpc.grpc.status_code", outcome.code ?? 0);
        if (outcome.code !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: grpcCodeName(outcome.code) });
        span.end();
      };
    },
  };

  delivery(pubsub: string, topic: string, parentTrace: TraceContext): OpenSpan & { readonly context: TraceContext } {
    return deliverySpan(this.tracer, pubsub, topic, parentTrace, "callback");
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

/**
 * The sampler of spans without a parent: the configured ratio (by trace id, as
 * the SDK's), except for an rpc's span that the tracing step already sampled
 * with the same ratio (`decided`, set around that one synchronous startSpan).
 */
class RootSampler implements Sampler {
  decided = false;
  private readonly ratio: TraceIdRatioBasedSampler;

  constructor(private readonly sampleRatio: number) {
    this.ratio = new TraceIdRatioBasedSampler(sampleRatio);
  }

  /** The step's own draw for a call without a caller's trace: true for the configured share of calls. */
  draw(): boolean {
    return this.sampleRatio >= 1 || Math.random() < this.sampleRatio;
  }

  shouldSample(context: Context, traceId: string): SamplingResult {
    if (this.decided) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.ratio.shouldSample(context, traceId);
  }

  toString(): string {
    return `RootSampler{${this.ratio.toString()}}`;
  }
}

/** What component operations of a call that is not sampled get: no span at all. */
const notRecorded: OpenSpan = { end: () => undefined };

/** The call's span as its handler sees it. */
class SpanScope implements TraceScope {
  private w3c: TraceContext | undefined;
  private context: Context | undefined;

  constructor(
    private readonly tracer: Tracer,
    private readonly parent: Context,
    private readonly span: Span,
  ) {}

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  get traceparent(): string {
    this.w3c ??= contextOf(this.span);
    return this.w3c.traceparent!;
  }

  get tracestate(): string | undefined {
    this.w3c ??= contextOf(this.span);
    return this.w3c.tracestate;
  }

  delivery(pubsub: string, topic: string, parentTrace: TraceContext): OpenSpan & { readonly context: TraceContext } {
    return deliverySpan(this.tracer, pubsub, topic, parentTrace, "stream");
  }

  component(capability: string, component: string, operation: string): OpenSpan {
    // A call that is not sampled records nothing below it either (its traceparent still travels, flagged so).
    if (!this.span.isRecording()) return notRecorded;
    this.context ??= trace.setSpan(this.parent, this.span);
    const span = this.tracer.startSpan(
      `${capability}.${operation}`,
      { kind: SpanKind.CLIENT, attributes: { "ottavo.capability": capability, "ottavo.component": component, "ottavo.operation": operation } },
      this.context,
    );
    return { end: (error?: unknown) => endSpan(span, error) };
  }
}

/**
 * A span for one event handed to the app (through its OnTopicEvent callback, or
 * a SubscribeTopicEvents stream), child of the trace the event carries.
 */
function deliverySpan(tracer: Tracer, pubsub: string, topic: string, parentTrace: TraceContext, via: "callback" | "stream") {
  const parent = parentTrace.traceparent === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, parentTrace, traceHeaders);
  const span = tracer.startSpan(
    `${topic} deliver`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        "messaging.system": "ottavo",
        "messaging.operation.type": "deliver",
        "messaging.destination.name": topic,
        "ottavo.pubsub": pubsub,
        "ottavo.delivery": via,
      },
    },
    parent,
  );
  return { context: contextOf(span), end: (error?: unknown) => endSpan(span, error) };
}

/** A span's W3C trace context, as traceparent and tracestate. */
function contextOf(span: Span): TraceContext {
  const { traceId, spanId, traceFlags, traceState } = span.spanContext();
  const state = traceState?.serialize();
  return { traceparent: `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, "0")}`, ...(state ? { tracestate: state } : {}) };
}

function endSpan(span: Span, error: unknown): void {
  if (error !== undefined) {
    const failure = ConnectError.from(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: grpcCodeName(failure.code) });
  }
  span.end();
}
