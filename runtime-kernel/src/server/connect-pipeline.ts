import type { ContextValues, Interceptor, StreamResponse, UnaryResponse } from "@connectrpc/connect";
import type { CallInfo, CallProtocol, Pipeline, StartedCall } from "./pipeline";

type ConnectRequest = Parameters<Parameters<Interceptor>[0]>[0];

/** The protocol of a Connect-ES call, from its content type (Connect-ES does not tell interceptors). */
function protocolOf(contentType: string | null): CallProtocol {
  if (contentType === null) return "connect";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}

function callInfo(request: ConnectRequest): CallInfo {
  const header = request.header;
  return {
    service: request.service.typeName,
    method: request.method.name,
    protocol: protocolOf(header.get("content-type")),
    streaming: request.method.methodKind !== "unary",
    header: (name) => header.get(name) ?? undefined,
    values: request.contextValues,
  };
}

/** A response stream that ends the call when the last message was sent or the stream failed. */
async function* endingWith<T>(messages: AsyncIterable<T>, call: StartedCall, values: ContextValues): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw call.end(error, values);
  }
  call.end();
}

/**
 * The pipeline as a Connect-ES interceptor: every call served by Connect-ES
 * (every protocol, unary and streaming) passes the same steps and the same error
 * mapping as the gRPC fast path.
 */
export function pipelineInterceptor(pipeline: Pipeline): Interceptor {
  return (next) => async (request) => {
    const call = pipeline.active ? pipeline.start(callInfo(request)) : pipeline.unobserved;
    let response: UnaryResponse | StreamResponse;
    try {
      response = await next(request);
    } catch (error) {
      throw call.end(error, request.contextValues);
    }
    if (!response.stream) {
      call.end();
      return response;
    }
    return { ...response, message: endingWith(response.message, call, request.contextValues) };
  };
}
