import { isIPv6 } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { codecFor } from "@ottavo/generated/codecs/index";
import {
  HTTPExtension_Verb,
  InvokeResponseSchema,
  InvokeServiceRequestSchema,
  Runtime,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { whenAborted } from "@ottavo/component-runtime";
import { apiTokenHeader, forwardsResponseHeader, invokeHopsHeader } from "./forwarded-headers";
import { AnswerTooLarge, Http1Client, Http1Failure, type Http1Answer } from "./http1-client";
import { httpStatusHeader } from "./http-status-errors";
import { defaultMaxResponseBytes, headerLine } from "./http-target";
import { idempotentVerbs, type InvocationRequest, type InvocationResponse, type InvocationTarget } from "./invocation";
import { abortedCall, unreachable } from "./invocation-errors";

const invokePath = `/${Runtime.typeName}/${Runtime.method.invokeService.name}`;
const requestCodec = codecFor(InvokeServiceRequestSchema);
const responseCodec = codecFor(InvokeResponseSchema);

/** Connections kept open to one other runtime at most; further calls wait for one (HTTP/1.1 carries one call at a time). */
export const maxRuntimeConnections = 128;

/**
 * The largest answer read from another runtime: what it may read from its app
 * (defaultMaxResponseBytes) plus the InvokeResponse's own fields. A larger one
 * fails the call with RESOURCE_EXHAUSTED.
 */
export const defaultMaxRuntimeAnswerBytes = defaultMaxResponseBytes + 64 * 1024;

/** Headers of another runtime's answer that describe the HTTP/1.1 connection or the Connect protocol, never metadata. */
const connectionHeaders = new Set(["connection", "keep-alive", "transfer-encoding", "content-type", "content-length", "content-encoding"]);

/** Connect's unary protocol sends the handler's trailers as headers with this prefix. */
const trailerPrefix = "trailer-";

export interface RemoteRuntimeOptions {
  /** Connections at most (maxRuntimeConnections). */
  readonly maxConnections?: number;
  /** The largest answer read (defaultMaxRuntimeAnswerBytes). */
  readonly maxAnswerBytes?: number;
}

/**
 * Another runtime, reached on its API port: the call is sent on as InvokeService
 * with one more hop and the runtimes' token, and that runtime delivers it to its
 * app. Its answer comes back as the app gave it: a success with the app's status
 * (dapr-http-status), body and headers, or the error the other runtime answered,
 * unchanged (code, message, details, metadata).
 *
 * The wire is Connect's unary protocol with binary messages (POST, application/proto,
 * Connect-Protocol-Version 1) over HTTP/1.1 keep-alive connections, which every
 * runtime serves on its API port next to gRPC: the same rpc, pipeline and
 * handler, an error as Connect's JSON with its metadata as headers. It is written
 * by Http1Client (pooled connections, at most maxRuntimeConnections), which costs
 * a fraction of node:http2's client per call. The caller's deadline travels as
 * Connect-Timeout-Ms; an aborted call closes its connection, which the other
 * runtime sees as the caller going away.
 */
export class RemoteRuntimeTarget implements InvocationTarget {
  readonly description: string;
  private readonly client: Http1Client;
  /** The request line and the fields every call carries. */
  private readonly head: string;
  private readonly maxAnswerBytes: number;

  constructor(
    readonly address: string,
    appId: string,
    token: string | undefined,
    options: RemoteRuntimeOptions = {},
  ) {
    this.description = `the runtime of app '${appId}' at ${address}`;
    const [host, port] = splitAddress(address);
    this.client = new Http1Client({ host, port, maxSockets: options.maxConnections ?? maxRuntimeConnections });
    this.maxAnswerBytes = options.maxAnswerBytes ?? defaultMaxRuntimeAnswerBytes;
    let head = `POST ${invokePath} HTTP/1.1\r\nhost: ${isIPv6(host) ? `[${host}]` : host}:${port}\r\n`;
    head += "content-type: application/proto\r\nconnect-protocol-version: 1\r\n";
    if (token !== undefined) head += headerLine(apiTokenHeader, token);
    this.head = head;
  }

  async invoke(request: InvocationRequest): Promise<InvocationResponse> {
    let head = this.head;
    for (const [name, value] of request.headers) head += headerLine(name, value);
    head += `${invokeHopsHeader}: ${request.hops + 1}\r\n`;
    if (request.deadline !== undefined) {
      // Rounded up: the other runtime's deadline never passes before this one's, so this runtime answers it.
      head += `connect-timeout-ms: ${Math.max(1, Math.ceil(request.deadline - performance.now()))}\r\n`;
    }
    const init = {
      id: request.id,
      message: {
        method: request.method,
        contentType: request.contentType,
        data: { value: request.data },
        httpExtension: { verb: verbOf(request.verb), querystring: request.query },
      },
    };
    const body = requestCodec ? requestCodec.encode(init) : toBinary(InvokeServiceRequestSchema, create(InvokeServiceRequestSchema, init));
    head += `content-length: ${body.byteLength}\r\n`;
    let answer: Http1Answer;
    try {
      answer = await this.client.request({
        method: "POST",
        head,
        body,
        watchAbort: (listener) => whenAborted(request, listener),
        maxAnswerBytes: this.maxAnswerBytes,
        // Sent again after a reused connection closed unread only when the app's verb allows it.
        idempotent: idempotentVerbs.has(request.verb),
      });
    } catch (error) {
      if (request.signal.aborted) throw abortedCall(request.signal, this.description);
      if (error instanceof AnswerTooLarge) {
        throw new ConnectError(`${this.description} answered more than ${this.maxAnswerBytes} bytes`, Code.ResourceExhausted);
      }
      if (error instanceof Http1Failure) throw unreachable(`cannot call ${this.description}: ${error.message}`, error, error.sent);
      throw ConnectError.from(error);
    }
    if (answer.status !== 200) throw this.errorOf(answer);
    if (answer.contentType !== "application/proto") {
      throw new ConnectError(`${this.description} answered with content type '${answer.contentType}', not application/proto`, Code.Internal);
    }
    let response;
    try {
      response = responseCodec ? responseCodec.decode(answer.body) : fromBinary(InvokeResponseSchema, answer.body);
    } catch (error) {
      throw new ConnectError(`${this.description} answered a message that does not decode: ${(error as Error).message}`, Code.Internal);
    }
    const kept: Array<readonly [string, string]> = [];
    let status = 200;
    for (const header of answer.headers) {
      const name = header[0];
      if (name === httpStatusHeader) status = Number(header[1]);
      else if (forwardsResponseHeader(name) && !name.startsWith(trailerPrefix)) kept.push(header);
    }
    return {
      status,
      contentType: response.contentType,
      data: response.data?.value ?? new Uint8Array(0),
      headers: kept,
    };
  }

  close(): void {
    this.client.close();
  }

  /**
   * The error another runtime answered, as its Connect JSON says: code, message,
   * details, and its headers and trailers as metadata (without the protocol's and
   * the connection's own). An answer that is not Connect's (a proxy's page) gets
   * the code of its HTTP status.
   */
  private errorOf(answer: Http1Answer): ConnectError {
    const metadata = new Headers();
    for (const [name, value] of answer.headers) {
      if (connectionHeaders.has(name) || name.startsWith("connect-") || name.startsWith("grpc-")) continue;
      metadata.append(name.startsWith(trailerPrefix) ? name.slice(trailerPrefix.length) : name, value);
    }
    if (answer.status === 431) {
      // Node's HTTP server refuses a header section over the other runtime's limits.maxHeaderBytes before any handler runs.
      return new ConnectError(`${this.description} refused the call's metadata as too large (HTTP 431)`, Code.ResourceExhausted, metadata);
    }
    const message = `${this.description} answered HTTP ${answer.status}`;
    const code = codeFromHttpStatus(answer.status);
    if (!answer.contentType.startsWith("application/json")) return new ConnectError(message, code, metadata);
    try {
      // Throws the fallback given, with the metadata added, when the body is not Connect's error JSON.
      return errorFromJsonBytes(answer.body, metadata, new ConnectError(message, code));
    } catch (error) {
      return error instanceof ConnectError ? error : new ConnectError(message, code, metadata);
    }
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
