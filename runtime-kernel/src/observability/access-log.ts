import type { CallInfo, CallOutcome, CallStep } from "../server/pipeline";
import { HeaderCallInfo } from "../server/header-call-info";
import { AccessHead, type LogFields } from "./logger";
import { grpcCodeName } from "./code-names";
import { traceScopeOf } from "./trace-scope";

/** Where access lines go: the runtime's log at info. */
export interface AccessLogSink {
  info(line: string, fields?: LogFields): void;
  /** True when records are JSON; then infoMembers writes one from members the step serialised. */
  writesJson?(): boolean;
  infoMembers?(members: string): void;
  /** In JSON format, the record from the members up to the code (made once per rpc), the code, the duration, the trace id and the end on the monotonic clock (Logger's infoAccess). */
  infoAccess?(head: AccessHead, codeNumber: number, code: string, micros: number, traceId: string | undefined, endedAt: number): void;
  /** A text info line that may wait a little to be written with others (the access line in text format). */
  infoText?(line: string): void;
}

/**
 * One rpc's access lines on one protocol: what they start with, made on its
 * first call, and the end of every such call (the access log step's begin
 * hands this back, so nothing is made per call but the line).
 */
class RpcLines {
  /** `ottavo: access <rpc> <protocol> `, the text line's start. */
  private readonly text: string;
  /** `"msg":"access","kind":"access","rpc":"<rpc>","protocol":"<protocol>","code":"`, JSON-escaped. */
  private readonly json: string;
  /** The same, and its bytes per code, for infoAccess. */
  private readonly head: AccessHead;

  constructor(
    private readonly log: AccessLogSink,
    private readonly traced: boolean,
    private readonly rpc: string,
    private readonly protocol: string,
  ) {
    this.text = `ottavo: access ${rpc} ${protocol} `;
    this.json = `"msg":"access","kind":"access","rpc":${JSON.stringify(rpc)},"protocol":${JSON.stringify(protocol)},"code":"`;
    this.head = new AccessHead(this.json);
  }

  end(outcome: CallOutcome): void {
    const micros = Math.round(outcome.seconds * 1_000_000);
    const code = grpcCodeName(outcome.code);
    const call = outcome.call;
    // Only with tracing on; the gRPC fast path's values exist only when a step made them (a sampled call).
    const values = !this.traced ? undefined : call instanceof HeaderCallInfo ? call.setValues : call.values;
    const traceId = values === undefined ? undefined : traceScopeOf(values)?.traceId;
    const log = this.log;
    if (log.infoAccess !== undefined && log.writesJson?.()) {
      log.infoAccess(this.head, outcome.code ?? 0, code, micros, traceId, outcome.endedAt);
      return;
    }
    const durationMs = millisText(micros);
    if (log.infoMembers !== undefined && log.writesJson?.()) {
      log.infoMembers(traceId ? `${this.json}${code}","durationMs":${durationMs},"traceId":"${traceId}"` : `${this.json}${code}","durationMs":${durationMs}`);
      return;
    }
    const line = `${this.text}${code} ${durationMs} ms${traceId ? ` trace ${traceId}` : ""}`;
    if (log.infoText !== undefined && log.writesJson?.() === false) {
      log.infoText(line);
      return;
    }
    log.info(line, {
      kind: "access",
      rpc: this.rpc,
      protocol: this.protocol,
      code,
      durationMs: micros / 1000,
      traceId,
    });
  }
}

/**
 * The access log as a pipeline step: one line per call when it ends, with the
 * rpc, protocol, gRPC status and duration (and the trace id when the call is
 * traced; the step runs after tracing's). Never the request, the response, headers or the error's text: those
 * may carry secrets (GetSecret's answer, a token, a value the app stores).
 * Off unless the config's logging.accessLog is true; a runtime without it has
 * no such step at all.
 *
 * It runs on every call, so a JSON record is put together from per-rpc pieces
 * made once (rpc, protocol, their escaping) and the known-safe rest (a code
 * name, a number, a hex trace id): { time, level, msg: "access", kind, rpc,
 * protocol, code, durationMs, traceId }, the fields without the text line's
 * repetition of them in msg (a shorter line is less to write per call). The
 * duration and the record's time are the pipeline's (one clock for every step).
 */
export function accessLogStep(log: AccessLogSink, traced: boolean): CallStep {
  const byRpc = new Map<string, Map<string, Map<string, RpcLines>>>();
  return {
    name: "access-log",
    begin(call: CallInfo) {
      let methods = byRpc.get(call.service);
      if (methods === undefined) byRpc.set(call.service, (methods = new Map()));
      let protocols = methods.get(call.method);
      if (protocols === undefined) methods.set(call.method, (protocols = new Map()));
      let lines = protocols.get(call.protocol);
      if (lines === undefined) protocols.set(call.protocol, (lines = new RpcLines(log, traced, `${call.service}/${call.method}`, call.protocol)));
      return lines;
    },
  };
}

/**
 * Milliseconds with up to three decimals from a whole number of microseconds,
 * written as JavaScript writes micros / 1000 (no trailing zeros, no point for a
 * whole number) but with integer arithmetic only: a double's shortest decimal
 * form costs far more than this, once per access line.
 */
export function millisText(micros: number): string {
  if (!(micros >= 0 && micros < 1e15)) return String(micros / 1000);
  const whole = Math.floor(micros / 1000);
  const fraction = micros - whole * 1000;
  if (fraction === 0) return `${whole}`;
  if (fraction % 100 === 0) return `${whole}.${fraction / 100}`;
  if (fraction % 10 === 0) return `${whole}.${fraction < 100 ? "0" : ""}${fraction / 10}`;
  return `${whole}.${fraction < 10 ? "00" : fraction < 100 ? "0" : ""}${fraction}`;
}
