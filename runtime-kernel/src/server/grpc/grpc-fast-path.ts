import * as http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import type { UnaryDispatch } from "@ottavo/generated/server/unary-dispatch";
import { grpcPercentEncode } from "../grpc-message";
import type { Pipeline, StartedCall } from "../pipeline";
import { HeaderCallInfo } from "../header-call-info";
import { abortReasons } from "../abort-reasons";
import { frameMessage, UnaryFrameReader, type FrameProblem } from "./grpc-frames";
import { parseGrpcTimeout } from "./grpc-timeout";
import { Deadlines, type DeadlineEntry } from "./deadlines";
import { codecFor, type CodecTable, type MessageCodec } from "./message-codecs";
import { UnaryCallContext } from "./unary-call-context";
import { errorTrailerFields } from "./error-trailers";
import { awaitTrailers, httpDate, okHeadersNow } from "./response-headers";
import { closeIsWatched, closeWatcherOf } from "../connection-limits";

export interface GrpcFastPathOptions {
  /** The unary rpcs served here, by HTTP/2 path (generated dispatch tables). */
  readonly routes: ReadonlyMap<string, UnaryDispatch>;
  readonly pipeline: Pipeline;
  /** The largest request message accepted, compressed or not (gRPC's default is 4 MiB). */
  readonly maxReceiveMessageBytes: number;
  /** Specialized codecs by message type name; protobuf-es reflection for the rest. */
  readonly codecs?: CodecTable;
}

/** One rpc with its codecs resolved once, at start. */
interface FastRoute {
  readonly dispatch: UnaryDispatch;
  readonly input: MessageCodec;
  readonly output: MessageCodec;
}

const { NGHTTP2_NO_ERROR } = http2.constants;

function ignore(): void {}

const okTrailers: http2.OutgoingHttpHeaders = { "grpc-status": "0" };

/**
 * The stream's listeners, shared by every call (a closure per listener per call
 * was a tenth of the fast path's garbage): each finds its call on the stream, at
 * the place where the session watch (connection-limits) finds whom to tell of the close.
 */
const callOf = closeWatcherOf;
type CallStream = http2.ServerHttp2Stream & { [callOf]: UnaryCall };
/** Only on a stream whose session is not watched (connection-limits' watchSession tells the call otherwise). */
function onClose(this: CallStream): void {
  this[callOf].closed();
}
function onData(this: CallStream, chunk: Buffer): void {
  this[callOf].data(chunk);
}
function onEnd(this: CallStream): void {
  this[callOf].received();
}
function onWantTrailers(this: CallStream): void {
  this.sendTrailers(this[callOf].trailers);
}

/** Content types of gRPC with protobuf messages; gRPC with JSON and gRPC-Web stay with Connect-ES. */
function isGrpcProto(contentType: string | undefined): boolean {
  return contentType === "application/grpc" || contentType === "application/grpc+proto";
}

/**
 * The gRPC fast path: unary rpcs of the generated dispatch tables served straight
 * from node:http2 stream events, with gRPC framing, trailers, deadlines,
 * cancellation and size limits, and the same handlers and pipeline as Connect-ES.
 * Anything it does not take (streaming rpcs, unknown paths, gRPC-Web, Connect,
 * gRPC with JSON) is left to Connect-ES on the same port: a client cannot tell
 * which path served it.
 */
export class GrpcFastPath {
  private readonly routes = new Map<string, FastRoute>();
  /** Calls started and not yet closed, for the server's drain. */
  inFlight = 0;
  /** The deadlines (grpc-timeout) of the calls in flight. */
  readonly deadlines = new Deadlines();
  onIdle: (() => void) | undefined;

  constructor(readonly options: GrpcFastPathOptions) {
    for (const [path, dispatch] of options.routes) {
      this.routes.set(path, {
        dispatch,
        input: codecFor(dispatch.method.input, options.codecs),
        output: codecFor(dispatch.method.output, options.codecs),
      });
    }
  }

  /** Serves the stream and returns true when it is a unary gRPC call of a known rpc; false leaves it to Connect-ES. */
  serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
    const route = this.routes.get(headers[":path"] ?? "");
    if (route === undefined || headers[":method"] !== "POST" || !isGrpcProto(headers["content-type"])) return false;
    this.inFlight++;
    new UnaryCall(this, route, stream, headers).start();
    return true;
  }
}

/** One unary call from headers to trailers. */
class UnaryCall implements DeadlineEntry {
  private readonly reader: UnaryFrameReader;
  private context: UnaryCallContext | undefined;
  private pipelineCall: StartedCall;
  /** What the pipeline's steps set for the handler, when one did. */
  private values: ContextValues | undefined;
  private hasDeadline = false;
  private done = false;
  /** The answer's trailers (kept here: a property added to the stream can cost it a bigger property store per call). */
  trailers: http2.OutgoingHttpHeaders = okTrailers;
  deadlineAt = 0;
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;

  constructor(
    private readonly path: GrpcFastPath,
    private readonly route: FastRoute,
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
  ) {
    this.reader = new UnaryFrameReader(path.options.maxReceiveMessageBytes);
    this.pipelineCall = path.options.pipeline.unobserved;
  }

  start(): void {
    const { stream, headers } = this;
    // A stream that fails (reset, session gone) must not take the process down; "close" tells us it ended.
    stream.on("error", ignore);
    (stream as CallStream)[callOf] = this;
    if (!closeIsWatched(stream)) stream.on("close", onClose);
    const pipeline = this.path.options.pipeline;
    try {
      if (pipeline.active) {
        const info = new HeaderCallInfo(headers, this.route.dispatch.method, "grpc");
        this.pipelineCall = pipeline.start(info);
        this.values = info.setValues;
      }
    } catch (error) {
      return this.fail(error);
    }
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity" && encoding !== "gzip") {
      return this.fail(new ConnectError(`grpc: Decompressor is not installed for grpc-encoding "${encoding}"`, Code.Unimplemented));
    }
    const timeoutMs = parseGrpcTimeout(headers["grpc-timeout"] as string | undefined);
    if (Number.isNaN(timeoutMs)) {
      return this.fail(new ConnectError(`grpc: malformed grpc-timeout "${headers["grpc-timeout"]}"`, Code.Internal));
    }
    let deadline: number | undefined;
    if (timeoutMs !== undefined) {
      deadline = performance.now() + timeoutMs;
      this.hasDeadline = true;
      this.path.deadlines.add(this, deadline);
    }
    this.context = new UnaryCallContext(this.route.dispatch.method, headers, deadline, this.values);
    stream.on("data", onData);
    stream.on("end", onEnd);
  }

  deadlinePassed(): void {
    this.fail(new ConnectError("the call's deadline passed", Code.DeadlineExceeded));
  }

  /** A chunk of the request. */
  data(chunk: Buffer): void {
    const problem = this.reader.push(chunk);
    if (problem) this.fail(frameError(problem, this.path.options.maxReceiveMessageBytes));
  }

  /** The whole request arrived: decode, call the handler, answer. */
  received(): void {
    if (this.done) return;
    const max = this.path.options.maxReceiveMessageBytes;
    const message = this.reader.finish();
    if (!(message instanceof Uint8Array)) return this.fail(frameError(message, max));
    let body: Uint8Array = message;
    if (this.reader.compressed) {
      const encoding = this.headers["grpc-encoding"];
      if (encoding === undefined || encoding === "identity") {
        return this.fail(new ConnectError("grpc: compressed flag set with identity or empty encoding", Code.Internal));
      }
      try {
        body = gunzipSync(body, { maxOutputLength: max });
      } catch (error) {
        return this.fail(
          (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE"
            ? new ConnectError(`grpc: received message after decompression larger than max (${max})`, Code.ResourceExhausted)
            : new ConnectError("grpc: cannot decompress request", Code.Internal),
        );
      }
    }
    let request;
    try {
      request = this.route.input.decode(body);
    } catch {
      return this.fail(new ConnectError("grpc: cannot parse request", Code.Internal));
    }
    let answer: Promise<object> | object;
    try {
      answer = this.route.dispatch.call(request, this.context!);
    } catch (error) {
      return this.fail(error);
    }
    if (answer instanceof Promise) answer.then((response) => this.succeed(response), (error: unknown) => this.fail(error));
    else this.succeed(answer);
  }

  private succeed(response: object): void {
    if (this.done) return;
    let frame: Uint8Array;
    try {
      const output = this.route.output;
      frame = output.encodeFramed !== undefined ? output.encodeFramed(response) : frameMessage(output.encode(response));
    } catch (error) {
      return this.fail(error);
    }
    this.finish();
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    const extraHeaders = this.context!.extraHeaders();
    const extraTrailers = this.context!.extraTrailers();
    // node:http2 copies the header objects it is given, so the common answer shares constant ones.
    const headers = extraHeaders === undefined ? okHeadersNow() : { ...okHeadersNow(), ...extraHeaders };
    if (extraTrailers !== undefined) this.trailers = { ...okTrailers, ...extraTrailers };
    stream.on("wantTrailers", onWantTrailers);
    stream.respond(headers, awaitTrailers);
    stream.end(frame);
    this.pipelineCall.end();
  }

  /** Answers with an error status in a trailers-only response, and stops reading what the client still sends. */
  private fail(error: unknown): void {
    if (this.done) return;
    const mapped = this.pipelineCall.end(error, this.context?.recordedValues())!;
    this.finish(mapped);
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) {
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          date: httpDate(),
          "grpc-status": String(mapped.code),
          "grpc-message": grpcPercentEncode(mapped.rawMessage),
          ...errorTrailerFields(mapped),
          ...this.context?.extraTrailers(),
        },
        { endStream: true },
      );
    }
    // The request may still be arriving (too large, refused early): RST_STREAM(NO_ERROR) tells the client to stop.
    if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
  }

  /** The stream closed: a call still running was canceled by the client (reset) or lost with its connection. */
  closed(): void {
    const path = this.path;
    if (--path.inFlight === 0) path.onIdle?.();
    if (this.done) return;
    const { canceledByClient } = abortReasons();
    this.finish(canceledByClient);
    this.pipelineCall.end(canceledByClient);
  }

  /** No reason: the call completed (the context makes that reason only if someone watches its signal). */
  private finish(reason?: unknown): void {
    this.done = true;
    if (this.hasDeadline) this.path.deadlines.remove(this);
    this.context?.abort(reason);
  }
}

function frameError(problem: FrameProblem, max: number): ConnectError {
  switch (problem.kind) {
    case "too-large":
      return new ConnectError(`grpc: received message larger than max (${problem.length} vs. ${max})`, Code.ResourceExhausted);
    case "bad-flag":
      return new ConnectError(`grpc: received unexpected payload format ${problem.flag}`, Code.Internal);
    case "truncated":
      return new ConnectError("grpc: the request ended inside a message", Code.Internal);
    case "no-message":
      return new ConnectError("grpc: a unary request must carry one message, it carried none", Code.Internal);
    case "extra-message":
      return new ConnectError("grpc: a unary request must carry one message, it carried more", Code.Internal);
  }
}
