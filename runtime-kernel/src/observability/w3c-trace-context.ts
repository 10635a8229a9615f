/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as the runtime's main
 * thread handles it without OpenTelemetry's SDK: traceparent parsed and made,
 * tracestate normalised, trace and span ids drawn, and the root sampling
 * decision. Each follows what the SDK the spans are exported with does
 * (@opentelemetry/core's W3CTraceContextPropagator and TraceState,
 * @opentelemetry/sdk-trace's RandomIdGenerator and TraceIdRatioBasedSampler), so a
 * trace is sampled, parented and propagated as before: the tests compare both.
 */

/** A caller's span, from a valid traceparent. */
export interface RemoteParent {
  readonly traceId: string;
  readonly spanId: string;
  /** The trace flags as sent (bit 0: sampled). */
  readonly flags: number;
  /** The normalised tracestate, when the caller sent one with members to keep. */
  readonly tracestate: string | undefined;
}

/** The trace-flags value of a sampled span, the only flag this runtime sets. */
export const sampledFlag = 1;

/** Lower-case hex digit's value, or -1 (W3C ids and flags are lower-case hex only). */
function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** What a JavaScript regular expression's \s matches. */
function isSpace(code: number): boolean {
  return (
    code === 32 ||
    (code >= 9 && code <= 13) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** What a regular expression's `.` does not match. */
function isLineTerminator(code: number): boolean {
  return code === 10 || code === 13 || code === 0x2028 || code === 0x2029;
}

/** True when `length` lower-case hex digits from `at` are valid and not all zero. */
function nonZeroHex(value: string, at: number, length: number): boolean {
  let any = false;
  for (let i = at; i < at + length; i++) {
    const digit = hexValue(value.charCodeAt(i));
    if (digit < 0) return false;
    if (digit !== 0) any = true;
  }
  return any;
}

/**
 * Where the 55 characters of a valid traceparent start in `value` (0, or 1 after
 * one leading space), or -1 when it is not valid and so is ignored: a version of
 * two lower-case hex digits other than ff, a trace id of 32 and a parent id of
 * 16 lower-case hex digits, not all zero, and flags of two. Version 00 has nothing
 * after the flags; a later version may add `-` and more. One space on either side
 * is allowed. The same strings are accepted as by @opentelemetry/core's
 * propagator, whose pattern is
 * `^\s?((?!ff)[\da-f]{2})-((?![0]{32})[\da-f]{32})-((?![0]{16})[\da-f]{16})-([\da-f]{2})(-.*)?\s?$`
 * with `(-.*)` refused for version 00. Makes nothing.
 */
export function traceparentStart(value: string): number {
  const at = value.length > 0 && isSpace(value.charCodeAt(0)) ? 1 : 0;
  if (value.length < at + 55) return -1;
  const v0 = hexValue(value.charCodeAt(at));
  const v1 = hexValue(value.charCodeAt(at + 1));
  if (v0 < 0 || v1 < 0 || (v0 === 15 && v1 === 15)) return -1;
  if (value.charCodeAt(at + 2) !== 45 || value.charCodeAt(at + 35) !== 45 || value.charCodeAt(at + 52) !== 45) return -1;
  if (!nonZeroHex(value, at + 3, 32) || !nonZeroHex(value, at + 36, 16)) return -1;
  if (hexValue(value.charCodeAt(at + 53)) < 0 || hexValue(value.charCodeAt(at + 54)) < 0) return -1;
  const rest = at + 55;
  if (value.length === rest) return at;
  if (value.length === rest + 1 && isSpace(value.charCodeAt(rest))) return at;
  // More after the flags: only `-...` of a later version, on one line (a last space aside).
  if (value.charCodeAt(rest) !== 45 || (v0 === 0 && v1 === 0)) return -1;
  const end = isSpace(value.charCodeAt(value.length - 1)) ? value.length - 1 : value.length;
  for (let i = rest + 1; i < end; i++) if (isLineTerminator(value.charCodeAt(i))) return -1;
  return at;
}

/** The trace flags of a valid traceparent, or -1 when it is not valid (see traceparentStart). Makes nothing. */
export function traceparentFlags(value: string): number {
  const at = traceparentStart(value);
  return at < 0 ? -1 : hexValue(value.charCodeAt(at + 53)) * 16 + hexValue(value.charCodeAt(at + 54));
}

/** A caller's span from its traceparent and tracestate headers; undefined when the traceparent is absent or not valid. */
export function parseTraceparent(traceparent: string | undefined, tracestate?: string): RemoteParent | undefined {
  if (traceparent === undefined) return undefined;
  const at = traceparentStart(traceparent);
  if (at < 0) return undefined;
  return {
    traceId: traceparent.slice(at + 3, at + 35),
    spanId: traceparent.slice(at + 36, at + 52),
    flags: hexValue(traceparent.charCodeAt(at + 53)) * 16 + hexValue(traceparent.charCodeAt(at + 54)),
    // An empty header is none (the SDK reads it only when truthy).
    tracestate: tracestate ? normalizeTracestate(tracestate) : undefined,
  };
}

/** A span's traceparent: version 00, the ids, and the flags as two hex digits. */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${flags < 16 ? "0" : ""}${flags.toString(16)}`;
}

const maxTracestateMembers = 32;
const maxTracestateLength = 512;
const tracestateKey = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const tracestateValue = /^[ -~]{0,255}[!-~]$/;

/**
 * A tracestate header as the SDK's TraceState keeps and writes it: members
 * trimmed, those with a key or value W3C does not allow dropped, a key seen
 * again keeps its first place and takes the later value, at most 32 members and
 * 512 characters (members that would pass the limit skipped). Undefined when no
 * member is left.
 */
export function normalizeTracestate(raw: string): string | undefined {
  const members = new Map<string, string>();
  let length = 0;
  for (const part of raw.split(",")) {
    const member = part.trim();
    const equals = member.indexOf("=");
    if (equals === -1) continue;
    const key = member.slice(0, equals);
    const value = member.slice(equals + 1);
    if (!tracestateKey.test(key) || !tracestateValue.test(value) || value.includes(",") || value.includes("=")) continue;
    const next = length + member.length + (members.size > 0 ? 1 : 0);
    if (next > maxTracestateLength) continue;
    members.set(key, value);
    length = next;
    if (members.size >= maxTracestateMembers) break;
  }
  if (members.size === 0) return undefined;
  let text = "";
  for (const [key, value] of members) text += `${text === "" ? "" : ","}${key}=${value}`;
  return text;
}

/** A random unsigned 32-bit word, as the SDK's RandomIdGenerator draws them. */
function randomWord(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

/** Character codes of the lower-case hex digits. */
const hexDigits = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/** A 32-bit word as 8 lower-case hex digits: one flat string (Number's toString(16) took ≈ 450 ns a word). */
function hexWord(word: number): string {
  return String.fromCharCode(
    hexDigits[word >>> 28]!,
    hexDigits[(word >>> 24) & 15]!,
    hexDigits[(word >>> 20) & 15]!,
    hexDigits[(word >>> 16) & 15]!,
    hexDigits[(word >>> 12) & 15]!,
    hexDigits[(word >>> 8) & 15]!,
    hexDigits[(word >>> 4) & 15]!,
    hexDigits[word & 15]!,
  );
}

/** A new span id: 16 lower-case hex digits, never all zero. */
export function newSpanId(): string {
  const high = randomWord();
  const low = randomWord();
  return hexWord(high) + hexWord(high === 0 && low === 0 ? 1 : low);
}

/**
 * Parent-based ratio sampling of traces that start here, with the decision of
 * the SDK's TraceIdRatioBasedSampler: a trace id is sampled when the XOR of its
 * four 32-bit words is below ratio × 0xffffffff (every id at ratio 1). Every
 * service sampling by trace id this way decides alike for the same trace.
 *
 * draw() decides on a new trace without making its id's text, and picks the
 * id's words only for a sampled one: a call that is not sampled costs one
 * random number.
 */
export class TraceIdRatio {
  private readonly upperBound: number;
  /** The words of the last draw, read by traceId() when it was sampled. */
  private readonly words = new Uint32Array(4);

  constructor(ratio: number) {
    const normalized = typeof ratio !== "number" || Number.isNaN(ratio) ? 0 : ratio >= 1 ? 1 : ratio <= 0 ? 0 : ratio;
    this.upperBound = normalized === 1 ? 0x100000000 : Math.floor(normalized * 0xffffffff);
  }

  /** Whether a trace with this id (32 hex digits) is sampled: the SDK's shouldSample for a root span. */
  sampledId(traceId: string): boolean {
    if (!/^[0-9a-f]{32}$/i.test(traceId) || /^0{32}$/.test(traceId)) return false;
    let accumulated = 0;
    for (let i = 0; i < 32; i += 8) accumulated = (accumulated ^ parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
    return accumulated < this.upperBound;
  }

  /**
   * Draws a new trace and says whether it is sampled; when it is, traceId() then
   * gives its id (an unsampled trace gets none: nothing reads it).
   */
  draw(): boolean {
    if (this.upperBound === 0) return false;
    // The decision is the XOR of the id's words, a uniform word of its own: drawn first, so that a call
    // that is not sampled costs one random number.
    const decision = randomWord();
    return decision < this.upperBound && this.fill(decision);
  }

  /** Draws a trace id whose words XOR to `xor` (a uniform word makes a uniform id) and says whether it is sampled. */
  private fill(xor: number): boolean {
    const words = this.words;
    words[0] = randomWord();
    words[1] = randomWord();
    words[2] = randomWord();
    words[3] = (xor ^ words[0] ^ words[1] ^ words[2]) >>> 0;
    // All zero is no valid id: the SDK's generator sets its last byte to 1.
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[3] = 1;
    return (words[0] ^ words[1] ^ words[2] ^ words[3]) >>> 0 < this.upperBound;
  }

  /** The trace id of the last sampled draw, or of the last newTrace(). */
  traceId(): string {
    const words = this.words;
    return hexWord(words[0]!) + hexWord(words[1]!) + hexWord(words[2]!) + hexWord(words[3]!);
  }

  /** A new trace id with its decision (for spans that are made sampled or not: a delivery's). */
  newTrace(): { readonly traceId: string; readonly sampled: boolean } {
    const sampled = this.fill(randomWord());
    return { traceId: this.traceId(), sampled };
  }
}
