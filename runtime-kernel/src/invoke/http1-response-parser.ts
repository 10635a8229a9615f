/**
 * An incremental parser of one HTTP/1.1 (or 1.0) response, as RFC 9112 frames it:
 * the status line and header fields, then a body delimited by content-length, by
 * chunked transfer coding (trailers read and dropped), or by the connection's
 * close. Interim answers (1xx other than 101) are skipped. It is strict where
 * leniency would let a peer smuggle a second answer (conflicting lengths, bare
 * CR or LF, folded lines, a malformed chunk size): those fail the answer.
 */

/** The answer could not be read as HTTP/1.1. */
export class MalformedAnswer extends Error {}

/** The answer's body is larger than the caller accepts. */
export class AnswerTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the answer is larger than ${limit} bytes`);
  }
}

/** A complete answer. */
export interface Http1Answer {
  readonly status: number;
  /** Header fields as received, names lower-cased, in order (repeated names repeated). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The first content-type, or "". */
  readonly contentType: string;
  readonly body: Buffer;
  /** Whether the connection may carry another request (HTTP/1.1 without `connection: close`, a delimited body). */
  readonly keepAlive: boolean;
  /** The idle time the server announced in `keep-alive: timeout=<s>`, in ms; undefined when none. */
  readonly keepAliveMs: number | undefined;
}

/** Largest status line plus header section accepted (Node's default is 16 KiB; services behind proxies send more). */
export const maxHeadBytes = 64 * 1024;
/** Largest chunk-size line (with extensions) and trailer section accepted. */
const maxChunkLineBytes = 4096;
const maxTrailerBytes = 16 * 1024;

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  Done,
}

const statusLine = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?$/;
/** 1 for the characters of an HTTP token (RFC 9110 section 5.6.2), by char code. */
const tokenChars = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") tokenChars[c.charCodeAt(0)] = 1;
const digits = /^\d{1,15}$/;
const keepAliveTimeout = /(?:^|[,;\s])timeout=(\d+)/i;
const chunkSizeLine = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;[^\r\n]*)?$/;
const emptyBody = Buffer.alloc(0);

/**
 * Feed it the connection's bytes with `push` until it answers true (the answer
 * is complete), or call `end` when the connection closed. `leftover` then says
 * how many bytes of the last chunk came after the answer (a well-behaved server
 * sends none: a connection with leftover bytes is not reused).
 */
export class Http1ResponseParser {
  private state = State.Head;
  private pending: Buffer = emptyBody;
  private remaining = 0;
  private trailerBytes = 0;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private status = 0;
  private headers: Array<readonly [string, string]> = [];
  private contentType = "";
  private keepAlive = false;
  private keepAliveMs: number | undefined;
  /** Bytes of the last pushed chunk after the answer's end. */
  leftover = 0;
  /** Whether any byte of an answer arrived (a connection closed before that may be retried). */
  received = false;

  constructor(
    private readonly maxBodyBytes: number,
    /** The answer to a HEAD request has no body whatever its headers say. */
    private readonly headRequest = false,
  ) {}

  /** Takes the next bytes; true once the answer is complete. Throws MalformedAnswer or AnswerTooLarge. */
  push(chunk: Buffer): boolean {
    if (chunk.length === 0) return this.state === State.Done;
    this.received = true;
    let data = chunk;
    if (this.pending.length > 0) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = emptyBody;
    }
    let at = 0;
    for (;;) {
      switch (this.state) {
        case State.Head: {
          const end = data.indexOf("\r\n\r\n", at, "latin1");
          if (end < 0) {
            if (data.length - at > maxHeadBytes) throw new MalformedAnswer(`the answer's header section exceeds ${maxHeadBytes} bytes`);
            return this.keep(data, at);
          }
          if (end - at > maxHeadBytes) throw new MalformedAnswer(`the answer's header section exceeds ${maxHeadBytes} bytes`);
          this.readHead(data.toString("latin1", at, end));
          at = end + 4;
          break;
        }
        case State.Length:
        case State.ChunkData: {
          const available = data.length - at;
          if (available === 0) return false;
          const take = available < this.remaining ? available : this.remaining;
          this.addBody(at === 0 && take === data.length ? data : data.subarray(at, at + take));
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = this.state === State.Length ? State.Done : State.ChunkEnd;
          break;
        }
        case State.ChunkSize: {
          const end = data.indexOf("\r\n", at, "latin1");
          if (end < 0) {
            if (data.length - at > maxChunkLineBytes) throw new MalformedAnswer("a chunk-size line is too long");
            return this.keep(data, at);
          }
          const match = chunkSizeLine.exec(data.toString("latin1", at, end));
          if (match === null) throw new MalformedAnswer("a chunk-size line is malformed");
          this.remaining = parseInt(match[1]!, 16);
          at = end + 2;
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkEnd: {
          if (data.length - at < 2) {
            if (data.length > at && data[at] !== 13) throw new MalformedAnswer("a chunk is longer than its size");
            return this.keep(data, at);
          }
          if (data[at] !== 13 || data[at + 1] !== 10) throw new MalformedAnswer("a chunk is longer than its size");
          at += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const end = data.indexOf("\r\n", at, "latin1");
          if (end < 0) {
            if (this.trailerBytes + data.length - at > maxTrailerBytes) throw new MalformedAnswer("the trailer section is too long");
            return this.keep(data, at);
          }
          this.trailerBytes += end - at + 2;
          if (this.trailerBytes > maxTrailerBytes) throw new MalformedAnswer("the trailer section is too long");
          if (end === at) this.state = State.Done;
          at = end + 2;
          break;
        }
        case State.UntilClose:
          if (at < data.length) this.addBody(at === 0 ? data : data.subarray(at));
          return false;
        case State.Done:
          this.leftover = data.length - at;
          return true;
      }
    }
  }

  /** The connection closed: true when that completes the answer (a body delimited by the close). */
  end(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      return true;
    }
    return this.state === State.Done;
  }

  /** The complete answer (after push or end answered true). */
  answer(): Http1Answer {
    const { chunks } = this;
    const body = chunks.length === 0 ? emptyBody : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size);
    return {
      status: this.status,
      headers: this.headers,
      contentType: this.contentType,
      body,
      keepAlive: this.keepAlive,
      keepAliveMs: this.keepAliveMs,
    };
  }

  private keep(data: Buffer, at: number): false {
    this.pending = at === 0 ? data : data.subarray(at);
    return false;
  }

  private addBody(bytes: Buffer): void {
    this.size += bytes.length;
    if (this.size > this.maxBodyBytes) throw new AnswerTooLarge(this.maxBodyBytes);
    this.chunks.push(bytes);
  }

  private readHead(head: string): void {
    const firstEnd = head.indexOf("\r\n");
    const first = firstEnd < 0 ? head : head.slice(0, firstEnd);
    const status = statusLine.exec(first);
    if (status === null) throw new MalformedAnswer(`the answer does not start with an HTTP/1.x status line: ${JSON.stringify(first.slice(0, 60))}`);
    const code = Number(status[2]);
    const http10 = status[1] === "0";
    const headers: Array<readonly [string, string]> = [];
    let contentLength = -1;
    let transferEncoding: string | undefined;
    let close = false;
    let keepAliveToken = false;
    let contentType: string | undefined;
    let keepAliveMs: number | undefined;
    let at = firstEnd < 0 ? head.length : firstEnd + 2;
    while (at < head.length) {
      let end = head.indexOf("\r\n", at);
      if (end < 0) end = head.length;
      const colon = head.indexOf(":", at);
      if (colon <= at || colon > end) throw new MalformedAnswer(`a header line of the answer is malformed: ${JSON.stringify(head.slice(at, Math.min(end, at + 60)))}`);
      for (let i = at; i < colon; i++) {
        const c = head.charCodeAt(i);
        if (c > 127 || tokenChars[c] === 0) throw new MalformedAnswer(`a header name of the answer is malformed: ${JSON.stringify(head.slice(at, Math.min(colon, at + 60)))}`);
      }
      for (let i = colon + 1; i < end; i++) {
        const c = head.charCodeAt(i);
        if (c === 0 || c === 10 || c === 13) throw new MalformedAnswer("the answer's head holds a NUL, or a CR or LF outside a line end");
      }
      const name = head.slice(at, colon).toLowerCase();
      const value = head.slice(colon + 1, end).trim();
      at = end + 2;
      headers.push([name, value]);
      switch (name) {
        case "content-length": {
          for (const part of value.split(",")) {
            const text = part.trim();
            if (!digits.test(text)) throw new MalformedAnswer(`content-length '${value}' is not a length`);
            const length = Number(text);
            if (contentLength >= 0 && contentLength !== length) throw new MalformedAnswer("the answer has conflicting content-length values");
            contentLength = length;
          }
          break;
        }
        case "transfer-encoding":
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
          break;
        case "connection":
          for (const part of value.toLowerCase().split(",")) {
            const option = part.trim();
            if (option === "close") close = true;
            else if (option === "keep-alive") keepAliveToken = true;
          }
          break;
        case "content-type":
          contentType ??= value;
          break;
        case "keep-alive": {
          const timeout = keepAliveTimeout.exec(value);
          if (timeout !== null) keepAliveMs = Number(timeout[1]) * 1000;
          break;
        }
      }
    }
    if (code < 200) {
      // An interim answer (100 Continue, 103 Early Hints): the final one follows. 101 would switch protocols, which no request here asks for.
      if (code === 101) throw new MalformedAnswer("the service switched protocols (101), which the request did not ask for");
      return;
    }
    let keepAlive = http10 ? keepAliveToken && !close : !close;
    this.status = code;
    this.headers = headers;
    this.contentType = contentType ?? "";
    this.keepAliveMs = keepAliveMs;
    if (this.headRequest || code === 204 || code === 304) {
      this.state = State.Done;
    } else if (transferEncoding !== undefined) {
      // RFC 9112 section 6.3: transfer-encoding overrides content-length; a final coding other than chunked runs until the close.
      const codings = transferEncoding.toLowerCase().split(",");
      const chunked = codings[codings.length - 1]!.trim() === "chunked";
      this.state = chunked ? State.ChunkSize : State.UntilClose;
      if (!chunked || contentLength >= 0 || http10) keepAlive = false;
    } else if (contentLength >= 0) {
      // Refused at once: waiting for a body that will be refused anyway holds the call for nothing.
      if (contentLength > this.maxBodyBytes) throw new AnswerTooLarge(this.maxBodyBytes);
      this.remaining = contentLength;
      this.state = contentLength === 0 ? State.Done : State.Length;
    } else {
      this.state = State.UntilClose;
      keepAlive = false;
    }
    this.keepAlive = keepAlive;
  }
}
