import type { HandlerContext } from "@connectrpc/connect";
import type { RuntimeKernelRpcs } from "@ottavo/generated/server/runtime-handlers";
import { HTTPExtension_Verb, type InvokeServiceRequest } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { apiTokenHeader, invokeHopsHeader, requestHeadersOf, requestHeadersOfRaw, type RawHeaders } from "../invoke/forwarded-headers";
import { httpStatusError, httpStatusHeader } from "../invoke/http-status-errors";
import type { InvocationRequest } from "../invoke/invocation";
import type { Invoker } from "../invoke/invoker";
import { runtimeTokenCheck } from "../invoke/runtime-token";
import { invalidArgument } from "../errors/error-mapping";

const noData = new Uint8Array(0);

/**
 * The rpcs the kernel answers itself: InvokeService, through the invocation
 * targets. A call another runtime forwarded must carry `runtimeToken` when one is set.
 */
export function createKernelHandlers(invoker: Invoker, runtimeToken?: string): RuntimeKernelRpcs {
  const checkToken = runtimeTokenCheck(runtimeToken);
  return {
    async invokeService(request, context) {
      const raw = rawHeadersOf(context);
      const invocation = invocationOf(request, context, raw);
      if (invocation.hops > 0) checkToken(headerOf(context, raw, apiTokenHeader));
      const answer = await invoker.invoke(invocation);
      if (answer.status < 200 || answer.status > 299) throw httpStatusError(answer.status, answer.data, answer.headers);
      const append = appenderOf(context);
      for (const [name, value] of answer.headers) if (name !== httpStatusHeader) append(name, value);
      append(httpStatusHeader, String(answer.status));
      return { data: { value: answer.data }, contentType: answer.contentType };
    },
  };
}

/**
 * The request's HTTP/2 headers as received, when the gRPC fast path serves the
 * call (its context offers them): read directly, they spare making a Headers
 * object per call. Other paths give Connect's Headers only.
 */
function rawHeadersOf(context: HandlerContext): RawHeaders | undefined {
  return (context as { rawRequestHeaders?: RawHeaders }).rawRequestHeaders;
}

function headerOf(context: HandlerContext, raw: RawHeaders | undefined, name: string): string | undefined {
  if (raw === undefined) return context.requestHeader.get(name) ?? undefined;
  const value = raw[name];
  return typeof value === "string" ? value : value?.join(", ");
}

/** InvokeService's request as a target sees it: POST when no verb is given (as Dapr), metadata filtered. */
function invocationOf(request: InvokeServiceRequest, context: HandlerContext, raw: RawHeaders | undefined): InvocationRequest {
  if (request.id === "") throw invalidArgument("InvokeService: id is required (the app, service or function to call)");
  const message = request.message;
  const extension = message?.httpExtension;
  const verb = extension === undefined || extension.verb === HTTPExtension_Verb.NONE ? "POST" : HTTPExtension_Verb[extension.verb];
  if (verb === undefined) throw invalidArgument(`InvokeService: unknown http_extension.verb ${extension?.verb}`);
  const hops = Number(headerOf(context, raw, invokeHopsHeader) ?? "0");
  return new HandlerInvocation(
    request.id,
    message?.method ?? "",
    verb,
    extension?.querystring ?? "",
    message?.contentType ?? "",
    message?.data?.value ?? noData,
    raw === undefined ? requestHeadersOf(context.requestHeader) : requestHeadersOfRaw(raw),
    Number.isInteger(hops) && hops > 0 ? hops : 0,
    context,
  );
}

/** Appends response headers: without a Headers object when the context offers that (the fast path's and the Connect unary path's). */
function appenderOf(context: HandlerContext): (name: string, value: string) => void {
  const raw = context as HandlerContext & { appendResponseHeader?: (name: string, value: string) => void };
  if (raw.appendResponseHeader !== undefined) return (name, value) => raw.appendResponseHeader!(name, value);
  const header = context.responseHeader;
  return (name, value) => header.append(name, value);
}

/** A handler context that tracks its aborts itself (the gRPC fast path's and the Connect unary path's). */
interface AbortHook {
  whenAborted(listener: () => void): (() => void) | undefined;
}

/**
 * The invocation of a call, with the call's signal read only when someone asks
 * for it (the fast path makes an AbortController per call only then) and aborts
 * watched through the context's hook when it has one. Both live on the prototype,
 * so a copy given another signal ({ ...request, signal }, a timeout's or a retry's)
 * has neither and watches its own signal.
 */
class HandlerInvocation implements InvocationRequest {
  readonly #context: HandlerContext;
  readonly deadline: number | undefined;

  constructor(
    readonly id: string,
    readonly method: string,
    readonly verb: string,
    readonly query: string,
    readonly contentType: string,
    readonly data: Uint8Array,
    readonly headers: ReadonlyArray<readonly [string, string]>,
    readonly hops: number,
    context: HandlerContext,
  ) {
    this.#context = context;
    const left = context.timeoutMs();
    this.deadline = left === undefined ? undefined : performance.now() + left;
  }

  get signal(): AbortSignal {
    return this.#context.signal;
  }

  whenAborted(listener: () => void): (() => void) | undefined {
    const context = this.#context;
    if ("whenAborted" in context) return (context as HandlerContext & AbortHook).whenAborted(listener);
    const { signal } = context;
    if (signal.aborted) return undefined;
    signal.addEventListener("abort", listener, { once: true });
    return () => signal.removeEventListener("abort", listener);
  }
}
