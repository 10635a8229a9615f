import type * as http2 from "node:http2";

/*
 * What a successful unary gRPC answer's respond() is given, made so that
 * node:http2 does the least work for it. Shared by the fast path and the
 * bench's hand-framed reference, which is meant to be the cheapest way.
 */

/*
 * The Date header is given here rather than left to node:http2: when respond() adds it itself (its header
 * copy's `date = utcDate()` store on a `{ __proto__: null }` object), that store misses its inline cache on
 * every response in many processes: V8's --log-ic shows one KeyedStoreIC miss per call there in every
 * runtime with the OpenTelemetry SDK loaded and in some without, ≈ 1.5–4 µs of CPU per call. Given with the
 * other headers, it is copied by the same loop, which does not miss. One object per second, shared by that
 * second's answers (node:http2 copies the headers it is given).
 */
let datedSecond = -1;
let dated = "";
let okHeaders: http2.OutgoingHttpHeaders = {};

/** The Date header's value (IMF-fixdate, as node:http2 writes it), renewed once per second. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== datedSecond) {
    datedSecond = second;
    dated = new Date(now).toUTCString();
    okHeaders = { ":status": 200, "content-type": "application/grpc", date: dated };
  }
  return dated;
}

/** The headers of a successful answer, with the current Date. */
export function okHeadersNow(): http2.OutgoingHttpHeaders {
  httpDate();
  return okHeaders;
}
// respond() copies its options ({ ...options }) and then sets endStream on the copy: an options object
// without endStream gives that copy a new hidden class on every call (a map allocated per response, and
// node:http2's loads of sendDate/endStream/waitForTrailers miss their inline caches every time). With
// endStream already there the copy keeps one map.
export const awaitTrailers = { endStream: false, waitForTrailers: true };
