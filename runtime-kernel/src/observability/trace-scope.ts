import { createContextKey, type ContextValues } from "@connectrpc/connect";

/** W3C trace context as it travels in headers and CloudEvents: traceparent, and tracestate when there is one. */
export interface TraceContext {
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** A span that is open; end() once, with the error when it failed. */
export interface OpenSpan {
  end(error?: unknown): void;
}

/**
 * The span of one call, as the tracing step hands it to the handler (through
 * the call's context values): its W3C context, for what the call sends on (a
 * published CloudEvent), children for the call's component operations, and
 * delivery spans for the events a SubscribeTopicEvents stream hands its client.
 * Nothing here loads OpenTelemetry: a runtime without tracing never sets it.
 */
export interface TraceScope extends TraceContext, DeliveryTracing {
  readonly traceparent: string;
  readonly traceId: string;
  /** A child span of this one for one component operation. */
  component(capability: string, component: string, operation: string): OpenSpan;
}

export const traceScopeKey = createContextKey<TraceScope | undefined>(undefined, { description: "ottavo trace scope" });

/** The call's trace scope, when tracing is on and this call is traced. */
export function traceScopeOf(values: ContextValues): TraceScope | undefined {
  return values.get(traceScopeKey);
}

/** How a component operation's call context (handlers/call-context.ts) gives its call's span. */
export const callTraceScope = Symbol("ottavo.callTraceScope");

/** The span of the call whose context is among a component operation's arguments (handlers pass it last). */
export function traceScopeAmong(args: readonly unknown[]): TraceScope | undefined {
  for (let i = args.length - 1; i >= 0; i--) {
    const arg = args[i] as { [callTraceScope]?: () => TraceScope | undefined } | null | undefined;
    if (typeof arg === "object" && arg !== null && typeof arg[callTraceScope] === "function") return arg[callTraceScope]();
  }
  return undefined;
}

/**
 * What a runtime with tracing on offers besides its pipeline step: a span for
 * each event delivered to the app, child of the trace the event carries.
 */
export interface DeliveryTracing {
  /** Opens a delivery span; its W3C context goes to the app with the event. */
  delivery(pubsub: string, topic: string, parent: TraceContext): OpenSpan & { readonly context: TraceContext };
}
