import { Code, ConnectError } from "@connectrpc/connect";
import type { Operation, Verdict } from "../resiliency/policy-runner";
import type { RetryPolicy } from "../resiliency/resiliency-spec";
import { httpStatusHeader } from "./http-status-errors";
import { idempotentVerbs, type InvocationRequest, type InvocationResponse, type InvocationTarget } from "./invocation";
import { wasNotSent } from "./invocation-errors";

/** Codes that say "the target or the way to it failed", not "the target answered no". */
const transientCodes = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.Internal, Code.Aborted, Code.ResourceExhausted]);

/**
 * One invocation as the resiliency runner sees it. What fails: an error (the
 * target unreachable, an attempt timed out) or an answer with status 5xx. What is
 * retried: with Dapr's `matching`, exactly the listed HTTP statuses and gRPC
 * codes, whatever the verb; without it, failures of idempotent verbs (GET, HEAD,
 * OPTIONS, TRACE, PUT, DELETE), and calls that never reached the target (refused
 * connection) whatever the verb, since repeating a POST the target may have
 * applied is not the runtime's decision to make.
 */
export function invocationOperation(target: InvocationTarget, request: InvocationRequest): Operation<InvocationResponse> {
  const idempotent = idempotentVerbs.has(request.verb);
  const byStatus = (status: number, retry: RetryPolicy | undefined): Verdict => {
    if (retry?.httpStatusCodes !== undefined && retry.httpStatusCodes.has(status)) return "retry";
    if (status < 500) return "ok";
    return retry?.httpStatusCodes === undefined && idempotent ? "retry" : "fail";
  };
  return {
    attempt: (signal) => target.invoke(signal === request.signal ? request : { ...request, signal }),
    judgeValue: (response, retry) => byStatus(response.status, retry),
    judgeError(error, retry) {
      const failure = ConnectError.from(error);
      // An HTTP answer that crossed another runtime arrives as an error carrying its status.
      const status = failure.metadata.get(httpStatusHeader);
      if (status !== null) return byStatus(Number(status), retry);
      if (retry?.grpcStatusCodes !== undefined) return retry.grpcStatusCodes.has(failure.code) ? "retry" : "fail";
      if (wasNotSent(error)) return "retry";
      return transientCodes.has(failure.code) && idempotent ? "retry" : "fail";
    },
  };
}
