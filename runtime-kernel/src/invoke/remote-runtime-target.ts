import { isIPv6 } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { createRuntimeClient, type RuntimeClient } from "@ottavo/generated/client/runtime-client";
import { HTTPExtension_Verb } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { apiTokenHeader, forwardsResponseHeader, invokeHopsHeader } from "./forwarded-headers";
import { httpStatusHeader } from "./http-status-errors";
import type { InvocationRequest, InvocationResponse, InvocationTarget } from "./invocation";
import { abortedCall, unreachable } from "./invocation-errors";

/**
 * Another runtime, reached over gRPC on its API port: the call is sent on as
 * InvokeService with one more hop and the runtimes' token, and that runtime
 * delivers it to its app. Its answer comes back as the app gave it: a success
 * with the app's status (dapr-http-status), body and headers, or the error the
 * other runtime answered, unchanged (code, message, details, metadata).
 */
export class RemoteRuntimeTarget implements InvocationTarget {
  readonly description: string;
  private readonly sessions: Http2SessionManager;
  private readonly client: RuntimeClient;

  constructor(
    readonly address: string,
    appId: string,
    private readonly token: string | undefined,
  ) {
    this.description = `the runtime of app '${appId}' at ${address}`;
    const [host, port] = splitAddress(address);
    const url = `http://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    this.sessions = new Http2SessionManager(url);
    this.client = createRuntimeClient(createGrpcTransport({ baseUrl: url, sessionManager: this.sessions }));
  }

  async invoke(request: InvocationRequest): Promise<InvocationResponse> {
    const headers = new Headers();
    for (const [name, value] of request.headers) headers.append(name, value);
    headers.set(invokeHopsHeader, String(request.hops + 1));
    if (this.token !== undefined) headers.set(apiTokenHeader, this.token);
    let answered: Headers | undefined;
    try {
      const response = await this.client.invokeService(
        {
          id: request.id,
          message: {
            method: request.method,
            contentType: request.contentType,
            data: { value: request.data },
            httpExtension: { verb: verbOf(request.verb), querystring: request.query },
          },
        },
        { headers, signal: request.signal, onHeader: (received) => (answered = received) },
      );
      const kept: Array<readonly [string, string]> = [];
      answered?.forEach((value, name) => {
        if (name !== httpStatusHeader && forwardsResponseHeader(name)) kept.push([name, value]);
      });
      return {
        status: Number(answered?.get(httpStatusHeader) ?? 200),
        contentType: response.contentType,
        data: response.data?.value ?? new Uint8Array(0),
        headers: kept,
      };
    } catch (error) {
      if (request.signal.aborted) throw abortedCall(request.signal, this.description);
      const failure = ConnectError.from(error);
      if (failure.code === Code.Unavailable && isTransportFailure(failure)) {
        throw unreachable(`cannot call ${this.description}: ${failure.rawMessage}`, failure, !isRefused(failure));
      }
      throw failure;
    }
  }

  close(): void {
    this.sessions.abort();
  }
}

function verbOf(name: string): HTTPExtension_Verb {
  const verb = (HTTPExtension_Verb as unknown as Record<string, HTTPExtension_Verb | undefined>)[name];
  return verb ?? HTTPExtension_Verb.POST;
}

/** "host:port" or "[v6]:port". */
export function splitAddress(address: string): [string, number] {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (match === null) throw new ConnectError(`name resolution answered '${address}', which is not host:port`, Code.Internal);
  return [match[1] ?? match[2], Number(match[3])];
}

/** The client could not talk to the other runtime at all (as opposed to that runtime answering UNAVAILABLE). */
function isTransportFailure(error: ConnectError): boolean {
  return error.metadata.get("grpc-status") === null && error.cause !== undefined;
}

function isRefused(error: ConnectError): boolean {
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    if ((cause as NodeJS.ErrnoException).code === "ECONNREFUSED") return true;
    cause = (cause as Error & { cause?: unknown }).cause;
  }
  return false;
}
