import type { CallOutcome, CallStep } from "../server/pipeline";
import type { LogFields } from "./logger";
import { grpcCodeName } from "./code-names";
import { traceScopeOf } from "./trace-scope";

/** Where access lines go: the runtime's log at info. */
export interface AccessLogSink {
  info(line: string, fields?: LogFields): void;
}

/**
 * The access log as a pipeline step: one line per call when it ends, with the
 * rpc, protocol, gRPC status and duration (and the trace id when the call is
 * traced; the step runs after tracing's). Never the request, the response, headers or the error's text: those
 * may carry secrets (GetSecret's answer, a token, a value the app stores).
 * Off unless the config's logging.accessLog is true; a runtime without it has
 * no such step at all.
 */
export function accessLogStep(log: AccessLogSink, traced: boolean): CallStep {
  return {
    name: "access-log",
    begin(call) {
      const started = performance.now();
      const rpc = `${call.service}/${call.method}`;
      return (outcome: CallOutcome) => {
        const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
        const code = grpcCodeName(outcome.code);
        // Only read with tracing on: the gRPC fast path makes a call's values on first use.
        const traceId = traced ? traceScopeOf(call.values)?.traceId : undefined;
        log.info(`ottavo: access ${rpc} ${call.protocol} ${code} ${durationMs} ms${traceId ? ` trace ${traceId}` : ""}`, {
          kind: "access",
          rpc,
          protocol: call.protocol,
          code,
          durationMs,
          traceId,
        });
      };
    },
  };
}
