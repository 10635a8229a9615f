import { randomUUID } from "node:crypto";
import type { TopicMessage } from "@ottavo/generated/components/pubsub";
import { invalidArgument, errorText } from "../errors/error-mapping";

/**
 * CloudEvents 1.0 envelopes, as Dapr's components-contrib builds them (pubsub/envelope.go):
 * what PublishEvent sends and what subscribers get unpacked.
 */

export const cloudEventContentType = "application/cloudevents+json";
export const cloudEventSpecVersion = "1.0";
/** Dapr's event type, which Dapr SDK subscribers expect (Layotto writes "com.runtime.event.sent"). */
export const defaultEventType = "com.dapr.event.sent";
/** The source given to events that arrive without one (Layotto's default source). */
export const defaultEventSource = "runtime";
/** What an empty data_content_type means, as in Dapr. */
export const defaultDataContentType = "text/plain";

/** W3C trace context of the publishing call, when the caller sent one. */
export interface TraceContext {
  readonly traceparent?: string;
  readonly tracestate?: string;
}

export interface PublishEnvelopeInput {
  readonly data: Uint8Array;
  readonly dataContentType: string;
  readonly topic: string;
  readonly pubsubName: string;
  /** The publishing app's id. */
  readonly source: string;
  readonly trace: TraceContext;
  /** From the request's ttlInSeconds: the event expires this many seconds from now. */
  readonly ttlSeconds?: number;
  readonly now?: number;
}

/**
 * The bytes to publish. Data whose content type is application/cloudevents+json is
 * already an envelope and passes through unchanged (only an expiration is added
 * when a ttl is given); it must be a JSON object, else INVALID_ARGUMENT. Other data
 * is wrapped: JSON data as a JSON value (its text kept verbatim, so big numbers keep
 * their digits), application/octet-stream as data_base64, anything else as a string.
 */
export function publishEnvelope(input: PublishEnvelopeInput): Uint8Array {
  const expiration =
    input.ttlSeconds === undefined ? undefined : rfc3339Seconds((input.now ?? Date.now()) + input.ttlSeconds * 1000);
  if (isContentType(input.dataContentType, cloudEventContentType)) return passThrough(input.data, expiration);

  const dataContentType = input.dataContentType === "" ? defaultDataContentType : input.dataContentType;
  const envelope: Record<string, string> = {
    id: randomUUID(),
    source: input.source,
    type: defaultEventType,
    specversion: cloudEventSpecVersion,
    datacontenttype: dataContentType,
    topic: input.topic,
    pubsubname: input.pubsubName,
  };
  if (input.trace.traceparent !== undefined) {
    // Dapr writes the trace parent under both names; traceid is the older one.
    envelope.traceid = input.trace.traceparent;
    envelope.traceparent = input.trace.traceparent;
    if (input.trace.tracestate !== undefined) envelope.tracestate = input.trace.tracestate;
  }
  if (expiration !== undefined) envelope.expiration = expiration;

  if (isContentType(dataContentType, "application/octet-stream")) {
    envelope.data_base64 = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength).toString("base64");
    return Buffer.from(JSON.stringify(envelope));
  }
  const text = utf8(input.data);
  if (isContentType(dataContentType, "application/json") && isJson(text)) {
    const head = JSON.stringify(envelope);
    return Buffer.from(`${head.slice(0, -1)},"data":${text.trim()}}`);
  }
  return Buffer.from(JSON.stringify({ ...envelope, data: text }));
}

/** A delivered message as the fields of a TopicEventRequest. */
export interface UnpackedEvent {
  id: string;
  source: string;
  type: string;
  specVersion: string;
  dataContentType: string;
  data: Uint8Array;
  topic: string;
  pubsubName: string;
  metadata: Record<string, string>;
}

/**
 * Unpacks a delivered message, or answers undefined when its CloudEvents expiration
 * has passed (such events are dropped, as Layotto and Dapr do). A payload that is not
 * a CloudEvent (published by something other than this runtime) is delivered as is,
 * with the broker's message id.
 */
export function unpackMessage(message: TopicMessage, pubsubName: string, now = Date.now()): UnpackedEvent | undefined {
  const text = utf8(message.data);
  const event = parseObject(text);
  if (event === undefined || (typeof event.id !== "string" && typeof event.specversion !== "string")) {
    return {
      id: message.id,
      source: defaultEventSource,
      type: defaultEventType,
      specVersion: cloudEventSpecVersion,
      dataContentType: message.contentType === "" ? "application/octet-stream" : message.contentType,
      data: message.data,
      topic: message.topic,
      pubsubName,
      metadata: message.metadata,
    };
  }
  if (typeof event.expiration === "string") {
    const expiresAt = Date.parse(event.expiration);
    if (Number.isFinite(expiresAt) && expiresAt < now) return undefined;
  }
  const dataContentType = stringField(event.datacontenttype, "");
  const traceparent = typeof event.traceparent === "string" ? event.traceparent : undefined;
  return {
    id: stringField(event.id, message.id),
    source: stringField(event.source, defaultEventSource),
    type: stringField(event.type, defaultEventType),
    specVersion: stringField(event.specversion, cloudEventSpecVersion),
    dataContentType,
    data: eventData(event, text, dataContentType),
    topic: message.topic,
    pubsubName,
    // The event's trace context reaches the subscriber in the metadata (a stream has no per-event headers).
    metadata:
      traceparent === undefined
        ? message.metadata
        : { ...message.metadata, traceparent, ...(typeof event.tracestate === "string" ? { tracestate: event.tracestate } : {}) },
  };
}

function passThrough(data: Uint8Array, expiration: string | undefined): Uint8Array {
  const text = utf8(data);
  let event: Record<string, unknown> | undefined;
  try {
    event = parseObject(text, true);
  } catch (error) {
    throw invalidArgument(`cannot create cloudevent: ${errorText(error)}`);
  }
  if (event === undefined) throw invalidArgument("cannot create cloudevent: the data is not a JSON object");
  if (expiration === undefined) return data;
  // Spliced rather than re-serialized, so the caller's bytes (and big numbers) stay as sent.
  const body = text.trimEnd().slice(0, -1);
  const separator = Object.keys(event).length === 0 ? "" : ",";
  return Buffer.from(`${body}${separator}"expiration":${JSON.stringify(expiration)}}`);
}

function eventData(event: Record<string, unknown>, text: string, dataContentType: string): Uint8Array {
  if (typeof event.data_base64 === "string") return Buffer.from(event.data_base64, "base64");
  if (event.data === undefined || event.data === null) return new Uint8Array(0);
  if (typeof event.data === "string" && !isContentType(dataContentType, "application/json")) {
    return Buffer.from(event.data);
  }
  // The member's own text, so numbers beyond 2^53 are not rounded by a parse and print.
  return Buffer.from(rawMember(text, "data") ?? JSON.stringify(event.data));
}

function stringField(value: unknown, fallback: string): string {
  return typeof value === "string" && value !== "" ? value : fallback;
}

/** The text parsed when it is a JSON object; undefined otherwise, or the parse error when rethrow. */
function parseObject(text: string, rethrow = false): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (rethrow) throw error;
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Dapr's content type test: the media type, case-insensitive, parameters ignored. */
export function isContentType(contentType: string, expected: string): boolean {
  const semicolon = contentType.indexOf(";");
  const media = semicolon >= 0 ? contentType.slice(0, semicolon) : contentType;
  return media.trim().toLowerCase() === expected;
}

function utf8(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
}

/** RFC 3339 in whole seconds, as Go's time.RFC3339 prints it. */
function rfc3339Seconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The raw text of a top-level member of a JSON object text that JSON.parse accepted
 * (the last one when repeated, as JSON.parse keeps); undefined when absent.
 */
export function rawMember(text: string, name: string): string | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== "{") return undefined;
  i++;
  let found: string | undefined;
  for (;;) {
    i = skipSpace(text, i);
    if (text[i] !== '"') return found;
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd) + 1; // the colon
    i = skipSpace(text, i);
    const valueEnd = skipValue(text, i);
    if (key === name) found = text.slice(i, valueEnd);
    i = skipSpace(text, valueEnd);
    if (text[i] === ",") i++;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i++;
  return i;
}

/** From an opening quote to just past the closing one. */
function skipString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return i;
}

function skipValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return skipString(text, i);
  if (first === "{" || first === "[") {
    let depth = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i = skipString(text, i);
        continue;
      }
      if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < text.length && !",}] \n\r\t".includes(text[i])) i++;
  return i;
}
