/**
 * The export requests the main thread writes (otlp-json.ts) against what
 * OpenTelemetry's own JSON trace serializer makes of the same spans as the SDK
 * records them (ReadableSpans): a collector must not see a difference.
 */
import type { Attributes, SpanContext } from "@opentelemetry/api";
import { TraceState, hrTimeDuration, millisToHrTime } from "@opentelemetry/core";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base";
import { OtlpJsonRequests } from "../../src/observability/otlp-json";
import { SpanRecord, spanKind, statusCode } from "../../src/observability/span-records";

const resource = { "service.name": "orders", "service.version": "1.2.3" };
const scope = { name: "ottavo", version: "1.2.3" };

/** A span record as the ReadableSpan the SDK records for the same span. */
function readableSpan(record: SpanRecord, sdkResource: Resource): ReadableSpan {
  const context: SpanContext = {
    traceId: record.traceId,
    spanId: record.spanId,
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
    resource: sdkResource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function sdkRequest(spans: SpanRecord[]): unknown {
  const sdkResource = resourceFromAttributes(resource);
  return JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans.map((span) => readableSpan(span, sdkResource)))));
}

function span(name: string, kind: number, parent: { id: string; remote: boolean } | undefined, tracestate: string | undefined, attributes: SpanRecord["attributes"]): SpanRecord {
  const start = 1_764_900_000_123.4567;
  const made = new SpanRecord(name, kind, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", parent?.id, parent?.remote ?? false, tracestate, start, attributes);
  made.endMs = start + 0.2501;
  return made;
}

describe("OTLP/JSON export requests", () => {
  it("are what OpenTelemetry's JSON serializer makes of the same spans: roots, remote and local parents, tracestate, status, events, every attribute type", () => {
    const root = span("spec.proto.runtime.v1.Runtime/GetState", spanKind.server, undefined, undefined, {
      "rpc.system": "grpc",
      "rpc.service": "spec.proto.runtime.v1.Runtime",
      "rpc.method": "GetState",
      "ottavo.protocol": "grpc",
      "rpc.grpc.status_code": 0,
    });
    const remoteChild = span("spec.proto.runtime.v1.Runtime/SaveState", spanKind.server, { id: "b7ad6b7169203331", remote: true }, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", {
      "rpc.grpc.status_code": 14,
    });
    remoteChild.statusCode = statusCode.error;
    remoteChild.statusMessage = "UNAVAILABLE";
    const localChild = span("state.get", spanKind.client, { id: "00f067aa0ba902b7", remote: false }, undefined, {
      "ottavo.capability": "state",
      "ottavo.component": 'store "a"\\b\n\u2028é😀',
      ratio: 0.25,
      big: 2 ** 53,
      negative: -3,
      flag: true,
      off: false,
    });
    localChild.statusCode = statusCode.error;
    localChild.statusMessage = 'backend "down"\n';
    const delivery = span("orders deliver", spanKind.producer, undefined, undefined, { "messaging.destination.name": "orders" });
    delivery.events = [
      { name: "retry", timeMs: 1_764_900_000_124.000_4, attributes: { attempt: 2, reason: "timeout" } },
      { name: "dead letter", timeMs: 1_764_900_001_999.999_9 },
    ];
    const spans = [root, remoteChild, localChild, delivery];
    const ours = JSON.parse(new OtlpJsonRequests(resource, scope).request(spans));
    expect(ours).toEqual(sdkRequest(spans));
    expect(ours.resourceSpans[0].scopeSpans[0].spans.map((one: { flags: number }) => one.flags)).toEqual([0x101, 0x301, 0x101, 0x101]);
  });

  it.each([
    ["a time now", 1_764_900_000_123.4567],
    ["a whole millisecond", 1_764_900_000_000],
    ["under a nanosecond before the next second (rounds up into it)", 1_764_900_000_999.999_999_9],
    ["the epoch", 0],
    ["within the first second", 0.5],
    ["before the epoch", -1500.25],
  ])("write %s as the SDK writes it, in nanoseconds", (_name, ms) => {
    const at = span("timed", spanKind.internal, undefined, undefined, {});
    at.endMs = ms;
    const ours = JSON.parse(new OtlpJsonRequests(resource, scope).request([at]));
    expect(ours).toEqual(sdkRequest([at]));
  });
});
