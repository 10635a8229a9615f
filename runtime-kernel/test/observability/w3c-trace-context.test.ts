/**
 * The main thread's W3C trace context and sampling against OpenTelemetry's SDK,
 * which they replace on that thread: the same traceparents accepted (and the
 * same ignored, so the call starts a new trace), the same tracestate kept, and
 * the same trace-id ratio decisions, so services sampling by trace id agree.
 */
import { randomBytes } from "node:crypto";
import { ROOT_CONTEXT, defaultTextMapGetter, trace, type SpanContext } from "@opentelemetry/api";
import { TraceState, W3CTraceContextPropagator } from "@opentelemetry/core";
import { SamplingDecision, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base";
import {
  formatTraceparent,
  newSpanId,
  normalizeTracestate,
  parseTraceparent,
  TraceIdRatio,
  traceparentFlags,
} from "../../src/observability/w3c-trace-context";

const propagator = new W3CTraceContextPropagator();

/** What the SDK's propagator makes of the headers: the caller's span context, or none. */
function sdkParent(traceparent: string, tracestate?: string): SpanContext | undefined {
  const carrier: Record<string, string> = { traceparent, ...(tracestate !== undefined ? { tracestate } : {}) };
  const context = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  return trace.getSpanContext(context);
}

function sdkSampled(sampler: TraceIdRatioBasedSampler, traceId: string): boolean {
  return sampler.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
}

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const spanId = "00f067aa0ba902b7";
const valid = `00-${traceId}-${spanId}-01`;

describe("traceparent", () => {
  const cases: [string, string][] = [
    ["valid, sampled", valid],
    ["valid, not sampled", `00-${traceId}-${spanId}-00`],
    ["other flags", `00-${traceId}-${spanId}-03`],
    ["flags ff", `00-${traceId}-${spanId}-ff`],
    ["version ff", `ff-${traceId}-${spanId}-01`],
    ["a later version", `01-${traceId}-${spanId}-01`],
    ["a later version with more", `cc-${traceId}-${spanId}-01-what-the-future-holds`],
    ["version 00 with more", `00-${traceId}-${spanId}-01-more`],
    ["version 00 with a dash only", `00-${traceId}-${spanId}-01-`],
    ["version 00 with characters after the flags", `00-${traceId}-${spanId}-01x`],
    ["upper-case trace id", `00-${traceId.toUpperCase()}-${spanId}-01`],
    ["upper-case span id", `00-${traceId}-${spanId.toUpperCase()}-01`],
    ["upper-case flags", `00-${traceId}-${spanId}-0A`],
    ["upper-case version", `0A-${traceId}-${spanId}-01`],
    ["all-zero trace id", `00-${"0".repeat(32)}-${spanId}-01`],
    ["all-zero span id", `00-${traceId}-${"0".repeat(16)}-01`],
    ["short trace id", `00-${traceId.slice(1)}-${spanId}-01`],
    ["long span id", `00-${traceId}-${spanId}0-01`],
    ["one flag digit", `00-${traceId}-${spanId}-1`],
    ["non-hex", `00-${traceId.slice(0, 31)}g-${spanId}-01`],
    ["underscores", `00_${traceId}_${spanId}_01`],
    ["one leading space", ` ${valid}`],
    ["one trailing space", `${valid} `],
    ["a tab on each side", `\t${valid}\t`],
    ["two leading spaces", `  ${valid}`],
    ["two trailing spaces", `${valid}  `],
    ["a later version, more over two lines", `01-${traceId}-${spanId}-01-a\nb`],
    ["a later version, more and a newline", `01-${traceId}-${spanId}-01-ab\n`],
    ["a later version, two newlines", `01-${traceId}-${spanId}-01-\n\n`],
    ["a later version, a line separator at the end", `01-${traceId}-${spanId}-01-\u2028`],
    ["empty", ""],
    ["garbage", "not a traceparent"],
  ];

  it.each(cases)("%s: accepted or ignored as the SDK's propagator does", (_name, header) => {
    const sdk = sdkParent(header);
    const ours = parseTraceparent(header);
    expect(ours === undefined ? undefined : { traceId: ours.traceId, spanId: ours.spanId, flags: ours.flags }).toEqual(
      sdk === undefined ? undefined : { traceId: sdk.traceId, spanId: sdk.spanId, flags: sdk.traceFlags },
    );
    expect(traceparentFlags(header)).toBe(sdk === undefined ? -1 : sdk.traceFlags);
  });

  it("ignores what W3C says to ignore (a new trace starts): version ff, all-zero ids, upper-case hex", () => {
    for (const header of [`ff-${traceId}-${spanId}-01`, `00-${"0".repeat(32)}-${spanId}-01`, `00-${traceId}-${"0".repeat(16)}-01`, `00-${traceId.toUpperCase()}-${spanId}-01`]) {
      expect([header, parseTraceparent(header)]).toEqual([header, undefined]);
    }
  });

  it("agrees with the SDK on 20,000 valid traceparents each changed at one character", () => {
    const alphabet = "0123456789abcdefABCDEF-_ g\n";
    let disagreements = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = `${i % 7 === 0 ? "01" : "00"}-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-0${i % 2}`;
      const at = i % (base.length + 1);
      const changed = base.slice(0, at) + alphabet[i % alphabet.length] + base.slice(at + (i % 3 === 0 ? 0 : 1));
      const sdk = sdkParent(changed);
      const ours = parseTraceparent(changed);
      const same = sdk === undefined ? ours === undefined : ours !== undefined && ours.traceId === sdk.traceId && ours.spanId === sdk.spanId && ours.flags === sdk.traceFlags;
      if (!same) disagreements++;
    }
    expect(disagreements).toBe(0);
  });

  it("is written as version 00 with two flag digits", () => {
    expect(formatTraceparent(traceId, spanId, 1)).toBe(valid);
    expect(formatTraceparent(traceId, spanId, 0)).toBe(`00-${traceId}-${spanId}-00`);
    expect(sdkParent(formatTraceparent(traceId, spanId, 1))?.traceFlags).toBe(1);
  });
});

describe("tracestate", () => {
  const cases: string[] = [
    "congo=t61rcWkgMzE",
    "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    " rojo = 1 , congo=2 ",
    "rojo=1,rojo=2,congo=3",
    "a=1,,b=2",
    "UPPER=1,lower=2",
    "vendor@system=1,1vendor@sys=2,@x=3",
    "k=va,lue",
    "k=v=w",
    "k=",
    "=v",
    "k=trailing space ",
    "k=inner space",
    `${"k".repeat(257)}=1,ok=2`,
    Array.from({ length: 40 }, (_, i) => `k${i}=${i}`).join(","),
    Array.from({ length: 20 }, (_, i) => `key${i}=${"v".repeat(40)}`).join(","),
    "",
    ",",
  ];

  it.each(cases.map((c) => [JSON.stringify(c).slice(0, 60), c]))("%s is kept as the SDK's TraceState writes it", (_name, raw) => {
    const sdk = new TraceState(raw).serialize();
    expect(normalizeTracestate(raw)).toBe(sdk === "" ? undefined : sdk);
  });

  it("comes with a valid traceparent, normalised", () => {
    expect(parseTraceparent(valid, " rojo=1 ,bad key=2")?.tracestate).toBe("rojo=1");
    expect(parseTraceparent(valid, "")?.tracestate).toBeUndefined();
  });
});

describe("trace id ratio sampling", () => {
  const ratios = [0, 1e-6, 0.001, 0.01, 0.1, 0.25, 0.5, 0.999, 1];

  it.each(ratios)("ratio %p decides as the SDK's TraceIdRatioBasedSampler on 20,000 random and edge trace ids", (ratio) => {
    const ours = new TraceIdRatio(ratio);
    const sdk = new TraceIdRatioBasedSampler(ratio);
    const ids = [
      "0".repeat(32),
      "0".repeat(31) + "1",
      "f".repeat(32),
      "ffffffff" + "0".repeat(24),
      "F".repeat(32),
      "4BF92F3577B34DA6A3CE929D0E0E4736",
      "not hex at all, but 32 chars....",
      "abc",
    ];
    for (let i = 0; i < 20_000; i++) ids.push(randomBytes(16).toString("hex"));
    // Ids whose words XOR to values around the ratio's bound.
    const bound = Math.floor(ratio * 0xffffffff);
    for (const delta of [-2, -1, 0, 1, 2]) {
      const word = Math.min(Math.max(bound + delta, 0), 0xffffffff);
      ids.push(`${word.toString(16).padStart(8, "0")}${"0".repeat(23)}1`, `${(word ^ 1).toString(16).padStart(8, "0")}${"0".repeat(23)}1`);
    }
    const disagreeing = ids.filter((id) => ours.sampledId(id) !== sdkSampled(sdk, id));
    expect(disagreeing).toEqual([]);
  });

  it.each(ratios)("ratio %p: a drawn trace id is sampled exactly when the SDK samples that id", (ratio) => {
    const ours = new TraceIdRatio(ratio);
    const sdk = new TraceIdRatioBasedSampler(ratio);
    let sampled = 0;
    let drawn = 0;
    const ids = new Set<string>();
    const disagreeing: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const trace = ours.newTrace();
      if (!/^[0-9a-f]{32}$/.test(trace.traceId) || trace.sampled !== sdkSampled(sdk, trace.traceId)) disagreeing.push(`new ${trace.traceId}`);
      if (trace.sampled) sampled++;
      // draw() decides alike: the id it gives for a sampled trace is one the SDK samples (at ratio 0 it draws nothing).
      if (!ours.draw()) continue;
      drawn++;
      const id = ours.traceId();
      ids.add(id);
      if (ratio === 0 || !/^[0-9a-f]{32}$/.test(id) || !sdkSampled(sdk, id)) disagreeing.push(`draw ${id}`);
    }
    expect(disagreeing).toEqual([]);
    // Every sampled draw is a new id.
    expect(ids.size).toBe(drawn);
    // The shares are the ratio's (binomial: within 6 standard deviations).
    const sd = Math.sqrt(20_000 * ratio * (1 - ratio));
    expect(Math.abs(sampled - 20_000 * ratio)).toBeLessThanOrEqual(6 * sd + 1);
    expect(Math.abs(drawn - 20_000 * ratio)).toBeLessThanOrEqual(6 * sd + 1);
  });

  it("makes span ids of 16 lower-case hex digits", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) ids.add(newSpanId());
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });
});
