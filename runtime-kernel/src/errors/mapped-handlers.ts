import type { HandlerContext } from "@connectrpc/connect";
import { toConnectError } from "./error-mapping";

type Rpc = (request: never, context: HandlerContext) => unknown;

/**
 * Handler groups for callers that call handlers directly instead of through a
 * server (the wasm host's imports, handler tests): each rpc's error is mapped by
 * the same toConnectError, with the call's context values, that the pipeline
 * applies on the Connect-ES and gRPC fast paths; so a failure reads the same
 * whichever way the call came in. Unary rpcs answer a promise, streaming ones an
 * async iterable; both are covered.
 */
export function withErrorMapping<G extends object>(groups: G): G {
  const mapped: Record<string, Record<string, Rpc>> = {};
  for (const [name, group] of Object.entries(groups as Record<string, Record<string, Rpc>>)) {
    const rpcs: Record<string, Rpc> = {};
    for (const [method, rpc] of Object.entries(group)) rpcs[method] = mapRpc(rpc);
    mapped[name] = rpcs;
  }
  return mapped as G;
}

function mapRpc(rpc: Rpc): Rpc {
  return (request, context) => {
    let answer: unknown;
    try {
      answer = rpc(request, context);
    } catch (error) {
      throw toConnectError(error, context.values);
    }
    if (answer instanceof Promise) return answer.catch((error: unknown) => Promise.reject(toConnectError(error, context.values)));
    if (answer !== null && typeof answer === "object" && Symbol.asyncIterator in answer) {
      return mapStream(answer as AsyncIterable<unknown>, context);
    }
    return answer;
  };
}

async function* mapStream(messages: AsyncIterable<unknown>, context: HandlerContext): AsyncGenerator<unknown> {
  try {
    yield* messages;
  } catch (error) {
    throw toConnectError(error, context.values);
  }
}
