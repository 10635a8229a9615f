import type { AttributeValue, SpanEventRecord, SpanRecord } from "./span-records";

/**
 * Span records as an OTLP/HTTP JSON export request, the same JSON that
 * OpenTelemetry's JsonTraceSerializer makes of the ReadableSpans the SDK would
 * have recorded (otlp-json.test.ts compares the two): the main thread writes a
 * batch's request itself, and the export worker only sends it. Posting the
 * records to the worker (a structured clone of every span and its attributes)
 * cost the main thread ≈ 1.6 µs per span, and turning them into ReadableSpans
 * and JSON there ≈ 10 µs; writing the JSON here costs ≈ 1.6 µs, posting it as
 * one string ≈ 1.1 µs.
 */
export class OtlpJsonRequests {
  /** `{"resourceSpans":[{"resource":{…},"scopeSpans":[{"scope":{…},"spans":[` */
  private readonly head: string;

  constructor(resource: Readonly<Record<string, string>>, scope: { readonly name: string; readonly version: string }) {
    const resourceJson = `{"attributes":${attributesJson(resource)},"droppedAttributesCount":0}`;
    this.head = `{"resourceSpans":[{"resource":${resourceJson},"scopeSpans":[{"scope":{"name":${JSON.stringify(scope.name)},"version":${JSON.stringify(scope.version)}},"spans":[`;
  }

  /** The export request of these spans. */
  request(spans: readonly SpanRecord[]): string {
    let body = this.head;
    for (let i = 0; i < spans.length; i++) body += (i === 0 ? "" : ",") + spanJson(spans[i]!);
    return `${body}]}]}]}`;
  }
}

/** W3C's sampled flag with OTLP's "has is_remote" bit, and its "is remote" bit (every recorded span is sampled). */
const localFlags = 0x101;
const remoteFlags = 0x301;

/** One span as OTLP's JSON Span; its members in the serializer's order (absent ones left out, as JSON.stringify leaves undefined out). */
function spanJson(span: SpanRecord): string {
  const parent = span.parentSpanId === undefined ? "" : `,"parentSpanId":"${span.parentSpanId}"`;
  const traceState = span.tracestate === undefined ? "" : `,"traceState":${JSON.stringify(span.tracestate)}`;
  const status = span.statusMessage === undefined ? `{"code":${span.statusCode}}` : `{"code":${span.statusCode},"message":${JSON.stringify(span.statusMessage)}}`;
  const flags = span.parentSpanId !== undefined && span.parentRemote ? remoteFlags : localFlags;
  return (
    `{"traceId":"${span.traceId}","spanId":"${span.spanId}"${parent}${traceState},"name":${JSON.stringify(span.name)},"kind":${span.kind + 1},` +
    `"startTimeUnixNano":"${unixNanos(span.startMs)}","endTimeUnixNano":"${unixNanos(span.endMs)}","attributes":${attributesJson(span.attributes)},` +
    `"droppedAttributesCount":0,"events":${eventsJson(span.events)},"droppedEventsCount":0,"status":${status},"links":[],"droppedLinksCount":0,"flags":${flags}}`
  );
}

function eventsJson(events: readonly SpanEventRecord[] | undefined): string {
  if (events === undefined || events.length === 0) return "[]";
  let json = "[";
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    json += `${i === 0 ? "" : ","}{"attributes":${attributesJson(event.attributes ?? {})},"name":${JSON.stringify(event.name)},"timeUnixNano":"${unixNanos(event.timeMs)}","droppedAttributesCount":0}`;
  }
  return `${json}]`;
}

function attributesJson(attributes: Readonly<Record<string, AttributeValue>>): string {
  let json = "[";
  let first = true;
  for (const key of Object.keys(attributes)) {
    json += `${first ? "" : ","}{"key":${JSON.stringify(key)},"value":${anyValueJson(attributes[key]!)}}`;
    first = false;
  }
  return `${json}]`;
}

/** OTLP's AnyValue of an attribute: an integer is an intValue, any other number a doubleValue. */
function anyValueJson(value: AttributeValue): string {
  switch (typeof value) {
    case "string":
      return `{"stringValue":${JSON.stringify(value)}}`;
    case "number":
      return Number.isInteger(value) ? `{"intValue":${value}}` : `{"doubleValue":${JSON.stringify(value)}}`;
    case "boolean":
      return `{"boolValue":${value}}`;
    default:
      return "{}";
  }
}

const nineZeros = "000000000";

/**
 * Nanoseconds since the epoch as a decimal string, from milliseconds since the
 * epoch as the SDK turns them into one (millisToHrTime, then seconds × 10⁹ +
 * nanoseconds): the seconds truncated, the rest rounded to a nanosecond.
 */
function unixNanos(ms: number): string {
  let seconds = Math.trunc(ms / 1000);
  let nanos = Math.round((ms % 1000) * 1_000_000);
  if (!(seconds >= 0 && seconds < 1e12 && nanos >= 0)) return String(BigInt(seconds) * 1_000_000_000n + BigInt(nanos));
  if (nanos >= 1_000_000_000) {
    seconds += 1;
    nanos -= 1_000_000_000;
  }
  if (seconds === 0) return String(nanos);
  const digits = String(nanos);
  return `${seconds}${nineZeros.slice(digits.length)}${digits}`;
}
