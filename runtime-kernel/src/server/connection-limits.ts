import type * as http from "node:http";
import type * as http2 from "node:http2";
import type * as net from "node:net";
import type { ServerLimits } from "../config/server-limits";

/**
 * Connection-level limits and timeouts of the API server, for both HTTP/1.1 and
 * HTTP/2: header size and time, idle connections, keep-alive pings, connections
 * per client, and closing connections that an HTTP/2 protocol error left behind.
 */

/** Options for http.createServer. */
export function http1ServerOptions(limits: ServerLimits): http.ServerOptions {
  return {
    // No overall request time limit: a client stream over HTTP/1.1 may be long.
    requestTimeout: 0,
    headersTimeout: limits.headersTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  };
}

/**
 * Applies the HTTP/1.1 timeouts. Node checks headersTimeout on a timer that it only
 * starts when the server itself listens; this one is handed connections by the
 * port's dispatcher and never listens, so without the "listening" event below a
 * client sending one header byte at a time (slowloris) was never cut off. The
 * socket timeout closes a connection on which nothing moved for idleTimeout.
 */
export function applyHttp1Limits(server: http.Server, limits: ServerLimits): void {
  server.emit("listening");
  server.timeout = limits.idleTimeoutMs;
  server.keepAliveTimeout = Math.min(server.keepAliveTimeout, limits.idleTimeoutMs);
}

/** Options for http2.createServer: the SETTINGS the server announces. */
export function http2ServerOptions(limits: ServerLimits): http2.ServerOptions {
  return {
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
    maxHeaderListPairs: 256,
  };
}

/** After GOAWAY for a graceful close, how long the client has to finish before the socket is destroyed. */
const closeGraceMs = 5_000;
/** A session with no stream is probed with a PING after this long, so a dead or broken one is found quickly. */
const quietProbeMs = 1_000;

/** A session's open streams, for its idle timer. */
interface OpenStreams {
  count: number;
  readonly quiet: () => void;
}

/**
 * Each stream points to its session's count, so one listener function serves every
 * stream (a closure and a once() wrapper per stream were a few hundred bytes per call).
 */
const openStreamsOf = Symbol("ottavo.openStreams");

/** What else wants to hear that a stream closed (the gRPC fast path's call on it). */
export interface StreamCloseWatcher {
  closed(): void;
}

/**
 * Where a stream of a watched session keeps one more party to tell when it
 * closes (the gRPC fast path keeps its call there): the session watch's close
 * listener tells it, so the stream carries one close listener, not two (each
 * listener costs node:http2 a newListener and a removeListener event, and two
 * make an array, on every call).
 */
export const closeWatcherOf = Symbol("ottavo.closeWatcher");

type CountedStream = http2.ServerHttp2Stream & { [openStreamsOf]: OpenStreams; [closeWatcherOf]?: StreamCloseWatcher };
function onCountedStreamClose(this: CountedStream): void {
  const open = this[openStreamsOf];
  if (--open.count === 0) open.quiet();
  this[closeWatcherOf]?.closed();
}

/** Marks a watched session (its streams get the watch's close listener). */
const watchedSession = Symbol("ottavo.watchedSession");

/**
 * Whether the stream's session is watched, so that a watcher at closeWatcherOf is
 * told when it closes. Asked of the session, not the stream: node:http2's server
 * hears of a stream before the watch does (its "stream" listener was added first).
 */
export function closeIsWatched(stream: http2.ServerHttp2Stream): boolean {
  return (stream.session as (http2.ServerHttp2Session & { [watchedSession]?: true }) | undefined)?.[watchedSession] === true;
}

/**
 * Watches one HTTP/2 session: it is closed (GOAWAY) after idleTimeout without an
 * open stream, pinged every keepAliveTime, and destroyed with its socket when a
 * ping goes unanswered for keepAliveTimeout, on a session error, or on the
 * client's GOAWAY once its streams are done.
 *
 * The ping is also what frees a session that a protocol error broke (DATA on
 * stream 0, bad HPACK, an oversized frame, rapid resets): nghttp2 answers GOAWAY
 * and stops reading the socket, and Node says nothing, so the client's FIN was
 * never seen and the socket sat in CLOSE-WAIT for good. A broken session cannot
 * answer a ping; one that has had no stream for a second gets one.
 *
 * `onStream` is called for each stream the session opens (the stream map's renewal).
 */
export function watchSession(session: http2.ServerHttp2Session, limits: ServerLimits, onStream: () => void): void {
  let pingTimer: NodeJS.Timeout | undefined;
  let awaitingPong = false;
  let idleTimer: NodeJS.Timeout | undefined;
  let probeTimer: NodeJS.Timeout | undefined;

  const destroy = () => {
    stop();
    // Destroying the session destroys its socket (the socket itself may not be touched).
    if (!session.destroyed) session.destroy();
  };
  const ping = () => {
    if (awaitingPong || session.destroyed || session.closed) return;
    awaitingPong = true;
    const deadline = setTimeout(destroy, limits.keepAliveTimeoutMs).unref();
    try {
      session.ping((error) => {
        clearTimeout(deadline);
        awaitingPong = false;
        if (error) destroy();
      });
    } catch {
      clearTimeout(deadline);
      destroy();
    }
  };
  // The idle and probe timers are made once and restarted (refresh) each time the last stream closes:
  // at low concurrency that is nearly every call, and two timers and a closure per call were measurable.
  // A timer that fires while streams are open does nothing; the last stream's close restarts it.
  const idle = () => {
    if (open.count > 0) return;
    session.close();
    setTimeout(destroy, closeGraceMs).unref();
  };
  const probe = () => {
    if (open.count === 0) ping();
  };
  const quiet = () => {
    if (idleTimer === undefined || probeTimer === undefined) {
      idleTimer = setTimeout(idle, limits.idleTimeoutMs).unref();
      probeTimer = setTimeout(probe, Math.min(quietProbeMs, limits.keepAliveTimeMs)).unref();
    } else {
      idleTimer.refresh();
      probeTimer.refresh();
    }
  };
  const stop = () => {
    clearInterval(pingTimer);
    clearTimeout(idleTimer);
    clearTimeout(probeTimer);
  };

  const open: OpenStreams = { count: 0, quiet };
  (session as http2.ServerHttp2Session & { [watchedSession]?: true })[watchedSession] = true;
  pingTimer = setInterval(ping, limits.keepAliveTimeMs).unref();
  quiet();
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open.count++;
    onStream();
    (stream as CountedStream)[openStreamsOf] = open;
    stream.on("close", onCountedStreamClose);
  });
  session.once("close", stop);
  session.on("error", () => destroy());
  session.on("frameError", () => destroy());
  // A client's GOAWAY: it opens no new streams; once the open ones finish, the socket is of no use.
  session.on("goaway", () => {
    if (open.count === 0) destroy();
    else session.close();
  });
}

/**
 * Connections per client address, against maxConnectionsPerClient. The app on
 * loopback is one client like any other: the default leaves it room for
 * hundreds of connections.
 */
export class ClientConnections {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts the socket in, or returns false (and destroys it) when its address has too many open. */
  admit(socket: net.Socket): boolean {
    const client = socket.remoteAddress ?? "";
    const count = this.open.get(client) ?? 0;
    if (count >= this.max) {
      socket.destroy();
      return false;
    }
    this.open.set(client, count + 1);
    socket.once("close", () => {
      const left = (this.open.get(client) ?? 1) - 1;
      if (left <= 0) this.open.delete(client);
      else this.open.set(client, left);
    });
    return true;
  }
}
