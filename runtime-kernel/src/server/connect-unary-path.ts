import type * as http from "node:http";
import type * as http2 from "node:http2";
import { gzip } from "node:zlib";
import { create, isMessage, type DescMessage, type Message, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import { createMethodSerializationLookup, type MethodSerializationLookup } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes, parseTimeout, trailerMux } from "@connectrpc/connect/protocol-connect";
import type { UnaryDispatch } from "@ottavo/generated/server/unary-dispatch";
import type { Pipeline, StartedCall } from "./pipeline";
import { HeaderCallInfo } from "./header-call-info";
import { abortReasons } from "./abort-reasons";
import { UnaryCallContext } from "./grpc/unary-call-context";
import type { CodecTable, MessageCodec } from "./grpc/message-codecs";

type NodeServerRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeServerResponse = http.ServerResponse | http2.Http2ServerResponse;
type JsonOptions = Parameters<typeof createMethodSerializationLookup>[2];

export interface ConnectUnaryPathOptions {
  /** The unary rpcs served here, by path (the generated dispatch tables the gRPC fast path uses). */
  readonly routes: ReadonlyMap<string, UnaryDispatch>;
  readonly pipeline: Pipeline;
  readonly maxReceiveMessageBytes: number;
  /** The JSON options Connect-ES is given, so both read JSON alike (strict UTF-8, unknown fields). */
  readonly jsonOptions: JsonOptions;
  /** Specialized binary codecs by message type name (the gRPC fast path's); Connect-ES's serialization for the rest. */
  readonly codecs?: CodecTable;
}

export interface UnaryRoute {
  readonly dispatch: UnaryDispatch;
  readonly serialization: MethodSerializationLookup<DescMessage, DescMessage>;
  /** The specialized codecs of the request and response, when the table has them (binary bodies only). */
  readonly input: MessageCodec | undefined;
  readonly output: MessageCodec | undefined;
}

/** Connect-ES compresses a response body from this size on (its compressMinBytes default). */
const compressMinBytes = 1024;

/**
 * The response encoding as Connect-ES negotiates it from Accept-Encoding (the first
 * name it supports, gzip or br, exactly as written), or undefined for identity.
 */
function responseEncoding(accepted: string | undefined): "gzip" | "br" | undefined {
  if (accepted === undefined || accepted === "") return undefined;
  for (const name of accepted.split(",")) {
    const trimmed = name.trim();
    if (trimmed === "gzip" || trimmed === "br") return trimmed;
  }
  return undefined;
}

/** The content types this path takes: Connect's unary JSON and binary, without a stream. */
const contentTypes = new Map<string, boolean>([
  ["application/json", false],
  ["application/json; charset=utf-8", false],
  ["application/proto", true],
]);

/**
 * Connect's unary protocol (POST, JSON or binary body, no compression) served
 * straight from the request and response objects, for the same generated dispatch
 * tables, handlers and pipeline as the gRPC fast path. Connect-ES's own protocol
 * pieces (serialization, timeout parsing, error JSON, HTTP status, trailer-
 * headers) do the wire work, so its answers are the same bytes; what this leaves
 * out is Connect-ES's per-call machinery (three AbortControllers, async iterables,
 * Headers copies), which cost more than the call. Anything else (GET, compression,
 * cross-origin requests, bodies without a length or over the limit) goes on to
 * Connect-ES: a client cannot tell which one answered.
 */
export class ConnectUnaryPath {
  private readonly routes = new Map<string, UnaryRoute>();

  constructor(readonly options: ConnectUnaryPathOptions) {
    const limits = { readMaxBytes: options.maxReceiveMessageBytes, writeMaxBytes: 0xffffffff };
    for (const [path, dispatch] of options.routes) {
      this.routes.set(path, {
        dispatch,
        serialization: createMethodSerializationLookup(dispatch.method, undefined, options.jsonOptions, limits),
        input: options.codecs?.[dispatch.method.input.typeName],
        output: options.codecs?.[dispatch.method.output.typeName],
      });
    }
  }

  /** Serves the request and returns true when it is a plain unary Connect call of a known rpc; false leaves it to Connect-ES. */
  serve(request: NodeServerRequest, response: NodeServerResponse): boolean {
    const taken = this.takes(request);
    if (taken === undefined) return false;
    new ConnectUnaryCall(this, taken.route, taken.binary, taken.gzip, request, response).start();
    return true;
  }

  /** What this path would serve the request as, or undefined when Connect-ES serves it. */
  takes(request: Pick<NodeServerRequest, "method" | "url" | "headers">): { route: UnaryRoute; binary: boolean; gzip: boolean } | undefined {
    if (request.method !== "POST") return undefined;
    const route = this.routes.get(request.url ?? "");
    if (route === undefined) return undefined;
    const headers = request.headers;
    const binary = contentTypes.get(headers["content-type"] ?? "");
    if (binary === undefined || !this.plain(headers)) return undefined;
    const encoding = responseEncoding(headers["accept-encoding"]);
    if (encoding === "br") return undefined;
    return { route, binary, gzip: encoding === "gzip" };
  }

  /** An uncompressed request, no CORS, a version Connect-ES accepts, and a declared length within the limit. */
  private plain(headers: http.IncomingHttpHeaders): boolean {
    const encoding = headers["content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    if (headers.origin !== undefined) return false;
    const version = headers["connect-protocol-version"];
    if (version !== undefined && version !== "1") return false;
    const length = headers["content-length"];
    return length !== undefined && /^\d{1,10}$/.test(length) && Number(length) <= this.options.maxReceiveMessageBytes;
  }
}

/** One unary call from request to response. */
class ConnectUnaryCall {
  private context: UnaryCallContext | undefined;
  private pipelineCall: StartedCall;
  /** Made only when a step asks for them (tracing), and handed to the handler's context. */
  private values: ContextValues | undefined;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly path: ConnectUnaryPath,
    private readonly route: UnaryRoute,
    private readonly binary: boolean,
    /** The client accepts gzip: bodies from compressMinBytes on are sent gzipped, as Connect-ES does. */
    private readonly gzipResponse: boolean,
    private readonly request: NodeServerRequest,
    private readonly response: NodeServerResponse,
  ) {
    this.pipelineCall = path.options.pipeline.unobserved;
  }

  start(): void {
    const { request, response } = this;
    response.once("close", () => this.closed());
    const method = this.route.dispatch.method;
    const pipeline = this.path.options.pipeline;
    try {
      if (pipeline.active) {
        const info = new HeaderCallInfo(request.headers, method, "connect");
        this.pipelineCall = pipeline.start(info);
        this.values = info.setValues;
      }
    } catch (error) {
      return this.fail(error);
    }
    const timeout = parseTimeout(request.headers["connect-timeout-ms"] as string | null | undefined ?? null, Number.MAX_SAFE_INTEGER);
    if (timeout.error) return this.fail(timeout.error);
    let deadline: number | undefined;
    if (timeout.timeoutMs !== undefined) {
      deadline = performance.now() + timeout.timeoutMs;
      this.timer = setTimeout(() => this.fail(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeout.timeoutMs);
    }
    this.context = new UnaryCallContext(method, request.headers, deadline, this.values, "connect", request.url);
    request.on("data", (chunk: Buffer) => this.chunks.push(chunk));
    request.once("end", () => this.received());
  }

  /** The whole body arrived (its declared length, which node's parser enforces): decode, call, answer. */
  private received(): void {
    if (this.done) return;
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    let answer: Promise<object> | object;
    try {
      const input = this.binary && this.route.input !== undefined ? decodeBinary(this.route, body) : this.route.serialization.getI(this.binary).parse(body);
      answer = this.route.dispatch.call(input, this.context!);
    } catch (error) {
      return this.fail(error);
    }
    if (answer instanceof Promise) answer.then((output) => this.succeed(output), (error: unknown) => this.fail(error));
    else this.succeed(answer);
  }

  private succeed(output: object): void {
    if (this.done) return;
    let body: Uint8Array;
    try {
      body = this.binary && this.route.output !== undefined ? encodeBinary(this.route, output) : this.serialize(output);
    } catch (error) {
      return this.fail(error);
    }
    this.finish();
    this.pipelineCall.end();
    this.respond(200, this.binary ? "application/proto" : "application/json", body);
  }

  private serialize(output: object): Uint8Array {
    const schema = this.route.dispatch.method.output;
    const message = isMessage(output, schema) ? output : create(schema, output as MessageInitShape<DescMessage>);
    return this.route.serialization.getO(this.binary).serialize(message);
  }

  /** Answers as Connect-ES does: the code's HTTP status, the error as JSON, its metadata as headers. */
  private fail(error: unknown): void {
    if (this.done) return;
    const mapped = this.pipelineCall.end(error, this.context?.recordedValues())!;
    this.finish(mapped);
    this.respond(codeToHttpStatus(mapped.code), "application/json", errorToJsonBytes(mapped, this.path.options.jsonOptions), mapped.metadata);
  }

  /** Headers and trailers the handler set (trailers as trailer-* headers, as Connect's unary protocol sends them). */
  private respond(status: number, contentType: string, body: Uint8Array, errorMetadata?: Headers): void {
    if (this.gzipResponse && body.byteLength >= compressMinBytes) {
      gzip(body, (error, compressed) => {
        if (error) this.response.destroy(error);
        else this.write(status, contentType, compressed, errorMetadata, "gzip");
      });
    } else {
      this.write(status, contentType, body, errorMetadata, undefined);
    }
  }

  private write(status: number, contentType: string, body: Uint8Array, errorMetadata: Headers | undefined, encoding: "gzip" | undefined): void {
    const response = this.response;
    if (response.headersSent || response.destroyed) return;
    const fields: Record<string, string> = {};
    const context = this.context;
    if (context?.setResponseMetadata || errorMetadata !== undefined) {
      const header = new Headers(context?.setResponseMetadata ? context.responseHeader : undefined);
      errorMetadata?.forEach((value, key) => header.set(key, value));
      trailerMux(header, context?.setResponseMetadata ? context.responseTrailer : new Headers()).forEach((value, key) => (fields[key] = value));
    }
    fields["content-type"] = contentType;
    if (encoding !== undefined) fields["content-encoding"] = encoding;
    fields["content-length"] = String(body.byteLength);
    response.writeHead(status, fields);
    response.end(body);
  }

  /** The response closed first: the client went away (or the connection broke) while the call ran. */
  private closed(): void {
    if (this.done) return;
    const { canceledByClient } = abortReasons();
    this.finish(canceledByClient);
    this.pipelineCall.end(canceledByClient);
  }

  private finish(reason?: unknown): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.context?.abort(reason);
  }
}

/**
 * A binary request through the specialized codec (the gRPC fast path's: several
 * times cheaper than reflection). Bytes it refuses go through Connect-ES's
 * parse, so a malformed body is refused with Connect-ES's own error.
 */
function decodeBinary(route: UnaryRoute, body: Uint8Array): Message {
  try {
    return route.input!.decode(body);
  } catch {
    return route.serialization.getI(true).parse(body);
  }
}

/** A binary response through the specialized codec (toBinary's bytes); what it cannot encode goes through Connect-ES's serialization, and its error. */
function encodeBinary(route: UnaryRoute, output: object): Uint8Array {
  try {
    return route.output!.encode(output);
  } catch {
    const schema = route.dispatch.method.output;
    return route.serialization.getO(true).serialize(isMessage(output, schema) ? output : create(schema, output as MessageInitShape<DescMessage>));
  }
}
