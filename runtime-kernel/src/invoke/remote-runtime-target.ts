import { isIPv6 } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codecFor } from "@ottavo/generated/codecs/index";
import {
  HTTPExtension_Verb,
  InvokeResponseSchema,
  InvokeServiceRequestSchema,
  Runtime,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { apiTokenHeader, forwardsResponseHeader, invokeHopsHeader } from "./forwarded-headers";
import { ChannelFailure, GrpcUnaryClient, type Metadata } from "./grpc-unary-client";
import { httpStatusHeader } from "./http-status-errors";
import { watchAbort, type InvocationRequest, type InvocationResponse, type InvocationTarget } from "./invocation";
import { abortedCall, unreachable } from "./invocation-errors";

const invokePath = `/${Runtime.typeName}/${Runtime.method.invokeService.name}`;
const requestCodec = codecFor(InvokeServiceRequestSchema);
const responseCodec = codecFor(InvokeResponseSchema);

/**
 * Another runtime, reached over gRPC on its API port: the call is sent on as
 * InvokeService with one more hop and the runtimes' token, and that runtime
 * delivers it to its app. Its answer comes back as the app gave it: a success
 * with the app's status (dapr-http-status), body and headers, or the error the
 * other runtime answered, unchanged (code, message, details, metadata).
 */
export class RemoteRuntimeTarget implements InvocationTarget {
  readonly description: string;
  private readonly client: GrpcUnaryClient;

  constructor(
    readonly address: string,
    appId: string,
    private readonly token: string | undefined,
  ) {
    this.description = `the runtime of app '${appId}' at ${address}`;
    const [host, port] = splitAddress(address);
    this.client = new GrpcUnaryClient(`http://${isIPv6(host) ? `[${host}]` : host}:${port}`);
  }

  async invoke(request: InvocationRequest): Promise<InvocationResponse> {
    const headers: Metadata = {};
    for (const [name, value] of request.headers) {
      const had = headers[name];
      headers[name] = had === undefined ? value : typeof had === "string" ? [had, value] : [...had, value];
    }
    headers[invokeHopsHeader] = String(request.hops + 1);
    if (this.token !== undefined) headers[apiTokenHeader] = this.token;
    const init = {
      id: request.id,
      message: {
        method: request.method,
        contentType: request.contentType,
        data: { value: request.data },
        httpExtension: { verb: verbOf(request.verb), querystring: request.query },
      },
    };
    const bytes = requestCodec ? requestCodec.encode(init) : toBinary(InvokeServiceRequestSchema, create(InvokeServiceRequestSchema, init));
    let answer;
    try {
      answer = await this.client.call(invokePath, bytes, headers, (listener) => watchAbort(request, listener));
    } catch (error) {
      if (request.signal.aborted) throw abortedCall(request.signal, this.description);
      if (error instanceof ChannelFailure) throw unreachable(`cannot call ${this.description}: ${error.message}`, error, error.sent);
      throw error;
    }
    const response = responseCodec ? responseCodec.decode(answer.message) : fromBinary(InvokeResponseSchema, answer.message);
    const kept: Array<readonly [string, string]> = [];
    const received = answer.headers;
    for (const name in received) {
      const value = received[name];
      if (value === undefined || name.startsWith(":") || name === httpStatusHeader || !forwardsResponseHeader(name)) continue;
      if (typeof value === "string") kept.push([name, value]);
      else for (const one of value) kept.push([name, one]);
    }
    const status = received[httpStatusHeader];
    return {
      status: typeof status === "string" ? Number(status) : 200,
      contentType: response.contentType,
      data: response.data?.value ?? new Uint8Array(0),
      headers: kept,
    };
  }

  close(): void {
    this.client.close();
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
