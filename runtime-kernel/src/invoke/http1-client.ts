import * as net from "node:net";
import { AnswerTooLarge, Http1ResponseParser, MalformedAnswer, type Http1Answer } from "./http1-response-parser";

export { AnswerTooLarge, MalformedAnswer, type Http1Answer } from "./http1-response-parser";

/** Why an exchange failed before a complete answer: `sent` tells whether the request may have reached the server. */
export class Http1Failure extends Error {
  constructor(
    message: string,
    readonly sent: boolean,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/** The request's call was aborted (its caller went away, a deadline or a timeout passed). */
export class Http1Aborted extends Error {
  constructor() {
    super("the call was aborted");
  }
}

/** One request: the head is the request line and header fields, each ending in CRLF, without the blank line. */
export interface Http1Request {
  readonly method: string;
  readonly head: string;
  readonly body: Uint8Array;
  /** Watches the call's abort: calls listener once on abort, answers the function that stops watching, or undefined when aborted already. */
  readonly watchAbort: (listener: () => void) => (() => void) | undefined;
  readonly maxAnswerBytes: number;
  /** Whether the request may be sent again when a reused connection closed before any answer (RFC 9110 9.2.2). */
  readonly idempotent: boolean;
}

export interface Http1ClientOptions {
  readonly host: string;
  readonly port: number;
  /** Connections open at once, at most; further requests wait for one. */
  readonly maxSockets: number;
}

/** Idle connections kept beyond this are closed (node:http's Agent keeps as many). */
const maxIdle = 256;

/** Bodies up to this size are copied behind the head and sent in one write; larger ones go by writev without a copy. */
const copiedBodyBytes = 16 * 1024;
/** An idle connection is dropped this long before the server's announced keep-alive timeout, so as not to race its close. */
const keepAliveMarginMs = 1000;

/**
 * An HTTP/1.1 client for one server: a pool of keep-alive connections (LIFO, so
 * the fewest stay warm), each request written in one write and its answer read by
 * Http1ResponseParser. Compared with node:http's client it makes no
 * ClientRequest, IncomingMessage or streams per call, and a connection's
 * listeners are installed once, not per request.
 *
 * Connection reuse is safe by construction: a connection goes back to the pool
 * only after a complete, delimited answer with nothing after it, with the request
 * fully written, and the server not asking to close. An idle connection the
 * server closes leaves the pool at once; one idle past the server's announced
 * keep-alive timeout (minus a margin) is not used. A request whose reused
 * connection closes before any byte of an answer is sent once more on a new
 * connection when it is idempotent; otherwise it fails as sent (the server may
 * have applied it).
 */
export class Http1Client {
  private readonly idle: Connection[] = [];
  private readonly waiting: Array<Waiter> = [];
  private open = 0;
  private closed = false;

  constructor(private readonly options: Http1ClientOptions) {}

  /** Sends the request; resolves with the answer, or rejects with Http1Failure (a malformed answer too), AnswerTooLarge or Http1Aborted. */
  request(request: Http1Request): Promise<Http1Answer> {
    return new Promise<Http1Answer>((resolve, reject) => {
      if (this.closed) return reject(new Http1Failure("the client is closed", false));
      const exchange = new Exchange(this, request, resolve, reject);
      const unwatch = request.watchAbort(exchange.onAbort);
      if (unwatch === undefined) return reject(new Http1Aborted());
      exchange.unwatch = unwatch;
      const connection = this.take();
      if (connection !== undefined) exchange.start(connection, false);
      else this.waiting.push(exchange);
    });
  }

  /** Connections open now, idle or busy (tests). */
  get connections(): number {
    return this.open;
  }

  /** Idle connections in the pool (tests). */
  get idleConnections(): number {
    return this.idle.length;
  }

  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
    for (const waiter of this.waiting.splice(0)) waiter.fail(new Http1Failure("the client is closed", false));
  }

  /** An idle connection still worth using, or a new one when under the cap; undefined at the cap. */
  private take(): Connection | undefined {
    const now = this.idle.length > 0 ? performance.now() : 0;
    for (let connection = this.idle.pop(); connection !== undefined; connection = this.idle.pop()) {
      if (connection.usableUntil > now) {
        connection.socket.ref();
        return connection;
      }
      connection.socket.destroy();
    }
    if (this.open >= this.options.maxSockets) return undefined;
    return this.connect();
  }

  /** A new connection, counted against the cap from now on. */
  connect(): Connection {
    this.open++;
    return new Connection(this, net.connect({ host: this.options.host, port: this.options.port, noDelay: true }));
  }

  /** The exchange on `connection` is over; the connection is reusable or already destroyed. */
  release(connection: Connection, reusable: boolean): void {
    if (!reusable || this.closed) {
      connection.socket.destroy();
      return;
    }
    const next = this.waiting.shift();
    if (next !== undefined) return next.start(connection, false);
    if (this.idle.length >= maxIdle) {
      connection.socket.destroy();
      return;
    }
    // An idle connection must not keep the runtime's process alive.
    connection.socket.unref();
    this.idle.push(connection);
  }

  /** The socket closed (any reason): it no longer counts; a waiting request may open a new one. */
  closedConnection(connection: Connection): void {
    if (connection.replaced) return;
    this.open--;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    if (this.closed) return;
    const next = this.waiting.shift();
    if (next !== undefined) next.start(this.connect(), false);
  }

  /** A new connection in place of a broken one, which stops counting now (so a resend never opens more than the cap). */
  replace(broken: Connection): Connection {
    broken.replaced = true;
    this.open--;
    return this.connect();
  }

  /** A waiting exchange gave up (its signal fired). */
  forget(waiter: Waiter): void {
    const at = this.waiting.indexOf(waiter);
    if (at >= 0) this.waiting.splice(at, 1);
  }
}

interface Waiter {
  start(connection: Connection, retry: boolean): void;
  fail(error: Error): void;
}

/** One socket and its listeners, installed once; events go to the exchange using it, if any. */
class Connection {
  exchange: Exchange | undefined;
  connected = false;
  /** Requests completed on it: a failure on a used connection may be its server's idle close. */
  served = 0;
  /** performance.now() after which the server may close it as idle. */
  usableUntil = Infinity;
  /** A resend took its place in the count (Http1Client.replace). */
  replaced = false;

  constructor(
    client: Http1Client,
    readonly socket: net.Socket,
  ) {
    socket.setKeepAlive(true, 1000);
    socket.once("connect", () => (this.connected = true));
    socket.on("data", (chunk: Buffer) => {
      if (this.exchange !== undefined) this.exchange.onData(chunk);
      // Bytes nobody asked for: the connection's state is unknown.
      else socket.destroy();
    });
    socket.on("end", () => {
      if (this.exchange !== undefined) this.exchange.onEnd();
      else socket.destroy();
    });
    socket.on("error", (error) => this.exchange?.onError(error));
    socket.once("close", () => {
      client.closedConnection(this);
      this.exchange?.onError(new Error("the connection closed"));
    });
  }
}

/** One request on a connection, from the first write to the answer or failure. */
class Exchange implements Waiter {
  private connection: Connection | undefined;
  private parser: Http1ResponseParser | undefined;
  private settled = false;
  private retried = false;
  /** Stops watching the call's abort. */
  unwatch: (() => void) | undefined;

  constructor(
    private readonly client: Http1Client,
    private readonly request: Http1Request,
    private readonly resolve: (answer: Http1Answer) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  start(connection: Connection, retry: boolean): void {
    this.retried ||= retry;
    this.connection = connection;
    connection.exchange = this;
    this.parser = new Http1ResponseParser(this.request.maxAnswerBytes, this.request.method === "HEAD");
    const { head, body } = this.request;
    const { socket } = connection;
    if (body.byteLength === 0) {
      socket.write(`${head}\r\n`, "latin1");
    } else if (body.byteLength <= copiedBodyBytes) {
      const bytes = Buffer.allocUnsafe(head.length + 2 + body.byteLength);
      bytes.write(head, 0, "latin1");
      bytes[head.length] = 13;
      bytes[head.length + 1] = 10;
      bytes.set(body, head.length + 2);
      socket.write(bytes);
    } else {
      socket.cork();
      socket.write(`${head}\r\n`, "latin1");
      socket.write(body);
      socket.uncork();
    }
  }

  /** The signal fired. */
  readonly onAbort = (): void => {
    if (this.settled) return;
    const connection = this.connection;
    this.finish();
    if (connection === undefined) this.client.forget(this);
    else connection.socket.destroy();
    this.reject(new Http1Aborted());
  };

  fail(error: Error): void {
    if (this.settled) return;
    this.finish();
    this.reject(error);
  }

  onData(chunk: Buffer): void {
    if (this.settled) return;
    let done: boolean;
    try {
      done = this.parser!.push(chunk);
    } catch (error) {
      return this.broken(error);
    }
    if (done) this.complete(this.parser!.leftover === 0);
  }

  onEnd(): void {
    if (this.settled) return;
    if (this.parser!.end()) return this.complete(false);
    this.onError(new Error(this.parser!.received ? "the connection closed before the answer was complete" : "the connection closed before any answer"));
  }

  onError(error: Error): void {
    if (this.settled) return;
    const connection = this.connection!;
    const { parser } = this;
    connection.exchange = undefined;
    connection.socket.destroy();
    // A reused connection the server closed as idle while this request was on its way: the server never read it.
    if (connection.served > 0 && !parser!.received && this.request.idempotent && !this.retried) {
      this.connection = undefined;
      this.start(this.client.replace(connection), true);
      return;
    }
    const sent = connection.connected;
    this.finish();
    this.reject(new Http1Failure(error.message, sent, error));
  }

  private broken(error: unknown): void {
    const connection = this.connection!;
    connection.exchange = undefined;
    connection.socket.destroy();
    this.finish();
    if (error instanceof AnswerTooLarge) this.reject(error);
    else if (error instanceof MalformedAnswer) this.reject(new Http1Failure(`malformed answer: ${error.message}`, true, error));
    else this.reject(error);
  }

  private complete(clean: boolean): void {
    const connection = this.connection!;
    const answer = this.parser!.answer();
    connection.exchange = undefined;
    connection.served++;
    if (answer.keepAliveMs !== undefined) connection.usableUntil = performance.now() + answer.keepAliveMs - keepAliveMarginMs;
    // Reusable only when the whole request went out (a server may answer early, before reading it all).
    const reusable = clean && answer.keepAlive && connection.socket.writableLength === 0 && !connection.socket.destroyed;
    this.finish();
    this.client.release(connection, reusable);
    this.resolve(answer);
  }

  private finish(): void {
    this.settled = true;
    this.unwatch?.();
  }
}
