import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { UnaryDispatch } from "@ottavo/generated/server/unary-dispatch";
import type { ListenAddress } from "../config/listen-address";
import { pipelineInterceptor } from "./connect-pipeline";
import { GrpcFastPath } from "./grpc/grpc-fast-path";
import { ConnectUnaryPath } from "./connect-unary-path";
import type { CodecTable } from "./grpc/message-codecs";
import type { TlsSettings } from "../config/api-security";
import { defaultServerLimits, type ServerLimits } from "../config/server-limits";
import { connectLimitOptions, streamLimitInterceptor, StreamCounter } from "./connect-limits";
import { applyHttp1Limits, ClientConnections, http1ServerOptions, http2ServerOptions, watchSession } from "./connection-limits";
import { checkEnvelopeFlags, isEnveloped, parseErrorInterceptor } from "./envelope-flags";
import { fixGrpcMessageTrailer } from "./grpc-message";
import { createApiListener } from "./tls";
import { closeServer, listenOn } from "./listen";
import { Pipeline } from "./pipeline";
import type { CorsConfig } from "../config/cors-config";
import { CorsPolicy } from "./cors";
import { ServedRoutes } from "./served-routes";
import { streamMapRenewal } from "./stream-map-renewal";

/** Every HTTP/2 connection without TLS ("prior knowledge", as gRPC clients do) opens with these bytes. */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** A connection that sends nothing is dropped after this long, before it is known to be HTTP/1.1 or HTTP/2. */
const firstBytesTimeoutMs = 10_000;


type NodeServerRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeServerResponse = http.ServerResponse | http2.Http2ServerResponse;
type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;
type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

export interface ApiServerOptions {
  readonly address: ListenAddress;
  /** Registers the services, e.g. `(router) => router.service(Runtime, impl)`. */
  readonly routes: (router: ConnectRouter) => void;
  /** Unary rpcs the gRPC fast path serves (generated dispatch tables); the same rpcs must be in routes too. */
  readonly fastPath?: { readonly routes: ReadonlyMap<string, UnaryDispatch>; readonly codecs?: CodecTable };
  /** The cross-cutting steps every call passes, on both paths. */
  readonly pipeline?: Pipeline;
  /** Cross-origin access for browsers; off when absent. */
  readonly cors?: CorsConfig;
  /** TLS on the port (server certificate, optional client certificates); plaintext when absent. */
  readonly tls?: TlsSettings;
  /** Told when a changed certificate file could not be loaded (the old one stays in use). */
  readonly onTlsReloadError?: (error: unknown) => void;
  /** Sizes, counts and timeouts; the defaults when not given. */
  readonly limits?: ServerLimits;
}

/**
 * The API server: gRPC (h2c), gRPC-Web and Connect (JSON and binary) over
 * HTTP/1.1 and HTTP/2, all on one cleartext port. Node's allowHTTP1 exists only
 * for TLS, so one net.Server looks at the first bytes of each connection and
 * hands it to an http2 or an http server that share one Connect handler.
 */
export class ApiServer {
  private readonly netServer: net.Server;
  private readonly http1: http.Server;
  private readonly http2Server: http2.Http2Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** The calls being served; their number bounds the drain. */
  private readonly inFlightResponses = new Set<NodeServerResponse>();
  private idleWaiters: (() => void)[] = [];
  private draining = false;
  /** Aborted when shutdown starts: tells streaming calls (subscriptions never end on their own) to wrap up. */
  private readonly streamsShutdown = new AbortController();
  private readonly fastPath: GrpcFastPath | undefined;
  private readonly connectUnary: ConnectUnaryPath | undefined;
  private readonly served: ServedRoutes;
  private readonly cors: CorsPolicy | undefined;
  private bound: ListenAddress;
  private readonly limits: ServerLimits;
  private readonly clients: ClientConnections;

  private constructor(options: ApiServerOptions) {
    this.bound = options.address;
    this.limits = options.limits ?? defaultServerLimits;
    this.netServer = createApiListener(options.tls, (socket) => this.dispatch(socket), this.limits.headersTimeoutMs, options.onTlsReloadError);
    this.clients = new ClientConnections(this.limits.maxConnectionsPerClient);
    const pipeline = options.pipeline ?? new Pipeline();
    const { maxReceiveMessageBytes } = this.limits;
    const served = new ServedRoutes(options.routes);
    this.served = served;
    this.cors = options.cors === undefined ? undefined : new CorsPolicy(options.cors);
    const limitOptions = connectLimitOptions(this.limits);
    const handler = connectNodeAdapter({
      routes: served.routes,
      fallback: served.fallback,
      ...limitOptions,
      readMaxBytes: maxReceiveMessageBytes,
      interceptors: [
        (next) => (request) => this.linkShutdownSignal(next, request),
        pipelineInterceptor(pipeline),
        streamLimitInterceptor(new StreamCounter(this.limits.maxSubscriptionStreams)),
        parseErrorInterceptor(),
      ],
    });
    const onRequest = (request: NodeServerRequest, response: NodeServerResponse) => this.track(request, response, handler);
    this.http1 = http.createServer(http1ServerOptions(this.limits), onRequest);
    applyHttp1Limits(this.http1, this.limits);
    this.http2Server = http2.createServer(http2ServerOptions(this.limits), onRequest);
    this.http2Server.on("session", (session) => this.trackSession(session));
    if (options.fastPath) {
      const fastPath = new GrpcFastPath({ ...options.fastPath, pipeline, maxReceiveMessageBytes });
      fastPath.onIdle = () => this.maybeIdle();
      this.fastPath = fastPath;
      this.routeStreams(fastPath);
      this.connectUnary = new ConnectUnaryPath({
        routes: options.fastPath.routes,
        pipeline,
        maxReceiveMessageBytes,
        jsonOptions: limitOptions.jsonOptions,
        codecs: options.fastPath.codecs,
      });
    }
  }

  /**
   * node:http2 serves its compatibility API (what Connect-ES runs on) from a
   * "stream" listener it adds with the first "request" listener. That listener is
   * taken out and called only for the streams the fast path leaves, so each
   * stream is served by exactly one of the two.
   */
  private routeStreams(fastPath: GrpcFastPath): void {
    const server = this.http2Server;
    const compat = server.listeners("stream") as StreamListener[];
    server.removeAllListeners("stream");
    server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      if (fastPath.serve(stream, headers)) return;
      for (const listener of compat) listener.call(server, stream, headers, flags, rawHeaders);
    });
  }

  static async start(options: ApiServerOptions): Promise<ApiServer> {
    const server = new ApiServer(options);
    server.bound = await listenOn(server.netServer, options.address);
    return server;
  }

  /** The address bound, with the real port when the config asked for 0. */
  get address(): ListenAddress {
    return this.bound;
  }

  /** Calls being served right now. */
  get inFlight(): number {
    return this.inFlightResponses.size + (this.fastPath?.inFlight ?? 0);
  }

  /**
   * Graceful stop: no new connections, HTTP/2 clients get GOAWAY (no new streams),
   * HTTP/1.1 connections close after their current response, streaming calls are
   * told to end; in-flight calls may finish within timeoutMs, then every
   * connection is closed. Resolves with whether all calls finished in time.
   */
  async shutdown(timeoutMs: number): Promise<{ drained: boolean }> {
    this.draining = true;
    const stopped = closeServer(this.netServer);
    for (const session of this.sessions) session.close();
    this.http1.closeIdleConnections();
    for (const response of this.inFlightResponses) this.closeAfter(response);
    this.streamsShutdown.abort(new ConnectError("the runtime is shutting down", Code.Unavailable));
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.idle().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    await stopped;
    return { drained };
  }

  private idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private maybeIdle(): void {
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private track(request: NodeServerRequest, response: NodeServerResponse, handler: NodeHandlerFn): void {
    this.inFlightResponses.add(response);
    response.once("close", () => {
      this.inFlightResponses.delete(response);
      this.maybeIdle();
    });
    if (this.draining) this.closeAfter(response);
    // gRPC proper (not gRPC-Web, whose trailers travel in the body).
    const contentType = request.headers["content-type"] ?? "";
    if (contentType.startsWith("application/grpc") && !contentType.startsWith("application/grpc-web")) {
      fixGrpcMessageTrailer(response);
    }
    if (this.cors?.handle(request, response)) return;
    if (this.served.serveOutsideConnect(request, response)) return;
    if (this.connectUnary?.serve(request, response)) return;
    if (isEnveloped(contentType)) checkEnvelopeFlags(request);
    handler(request, response);
  }

  /** An HTTP/1.1 keep-alive connection must not carry new calls into a drain: answer with "Connection: close". */
  private closeAfter(response: NodeServerResponse): void {
    if (response instanceof http.ServerResponse && !response.headersSent) response.shouldKeepAlive = false;
  }

  private trackSession(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    // A broken session must not take the process down; its streams fail on their own.
    session.on("error", () => undefined);
    watchSession(session, this.limits, streamMapRenewal(session));
    if (this.draining) session.close();
  }

  private linkShutdownSignal(
    next: Parameters<Interceptor>[0],
    request: Parameters<Parameters<Interceptor>[0]>[0],
  ): ReturnType<Parameters<Interceptor>[0]> {
    if (request.method.methodKind === "unary") return next(request);
    return next({ ...request, signal: AbortSignal.any([request.signal, this.streamsShutdown.signal]) });
  }

  /** Reads just enough of a new connection to tell HTTP/2 from HTTP/1.1, puts it back and hands the socket over. */
  private dispatch(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    // A client that resets the connection must not crash the process (http and http2 add their own handlers later).
    socket.on("error", () => undefined);
    if (this.draining || !this.clients.admit(socket)) return void socket.destroy();
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), firstBytesTimeoutMs).unref();
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const compared = Math.min(received.length, http2Preface.length);
      const isHttp2 = received.subarray(0, compared).equals(http2Preface.subarray(0, compared));
      if (isHttp2 && received.length < http2Preface.length) return;
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.pause();
      socket.unshift(received);
      if (isHttp2) {
        this.http2Server.emit("connection", socket);
      } else {
        this.http1.emit("connection", socket);
        // The http server does not resume a socket it did not pause itself.
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.once("close", () => clearTimeout(timer));
  }
}
