import type * as http2 from "node:http2";
import type { DescMethodUnary } from "@bufbuild/protobuf";
import type { ContextValues, HandlerContext } from "@connectrpc/connect";
import type { CallContext } from "@ottavo/component-runtime";
import { CallValues } from "../call-values";
import { failureSubjectKey, type ComponentRpc } from "../../errors/failure-texts";
import { abortReasons } from "../abort-reasons";

/**
 * Connect's HandlerContext for a call the gRPC fast path or the Connect unary path
 * serves (and a WebAssembly function's host call), so handlers run unchanged on every path. Everything a handler rarely reads (headers as a
 * Headers object, the abort signal, context values) is made on first use: most
 * unary calls never touch them, and an AbortController per call is measurable.
 * It is also the context components receive (CallContext: signal, deadline,
 * whenAborted), so handing a call to a component makes no object; handlers/call-context.ts,
 * which hands it out, gives it the call's trace scope.
 */
export class UnaryCallContext implements HandlerContext, CallContext {
  readonly requestMethod = "POST";
  private controller: AbortController | undefined;
  /** whenAborted's listeners: undefined until one is added, the listener itself while it is the only one (a Redis call adds one), an array from a second. */
  private abortListeners: (() => void) | (() => void)[] | undefined;
  private aborted = false;
  private abortReason: unknown;
  private lazyRequestHeader: Headers | undefined;
  private lazyResponseHeader: Headers | undefined;
  /** Response headers appended before anyone asked for responseHeader (lower-case names). */
  private rawResponseHeader: Record<string, string> | undefined;
  private lazyResponseTrailer: Headers | undefined;
  /** The failure subject recorded before the context values were made: they get it when made. */
  private subjectStore: string | undefined;
  private subjectItem: string | undefined;
  constructor(
    readonly method: DescMethodUnary,
    private readonly headers: http2.IncomingHttpHeaders,
    /** When the deadline passes (performance.now() based), or undefined without one. */
    private readonly deadlineAt: number | undefined,
    /** What the pipeline's steps set, when one did. */
    private lazyValues?: ContextValues,
    readonly protocolName: "grpc" | "connect" | "wasm" = "grpc",
    /** The request's path; HTTP/2's :path header when not given. */
    private readonly path?: string,
  ) {}

  get service() {
    return this.method.parent;
  }

  get url(): string {
    return `http://${this.headers[":authority"] ?? this.headers.host ?? "localhost"}${this.path ?? this.headers[":path"]}`;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      // Asked for after the abort (by someone who watched with whenAborted): it is aborted too, with the same reason.
      if (this.aborted) this.controller.abort(this.reason());
    }
    return this.controller.signal;
  }

  timeoutMs(): number | undefined {
    return this.deadlineAt === undefined ? undefined : Math.max(0, this.deadlineAt - performance.now());
  }

  /** CallContext's deadline, in Date.now() milliseconds; undefined without one. */
  get deadline(): number | undefined {
    return this.deadlineAt === undefined ? undefined : Date.now() + Math.max(0, this.deadlineAt - performance.now());
  }

  /** The request's headers as node:http2 received them (pseudo-headers included); read-only. */
  get rawRequestHeaders(): Readonly<http2.IncomingHttpHeaders> {
    return this.headers;
  }

  get requestHeader(): Headers {
    if (this.lazyRequestHeader === undefined) {
      const header = new Headers();
      for (const [name, value] of Object.entries(this.headers)) {
        if (name.startsWith(":") || value === undefined) continue;
        if (Array.isArray(value)) for (const v of value) header.append(name, v);
        else header.append(name, value);
      }
      this.lazyRequestHeader = header;
    }
    return this.lazyRequestHeader;
  }

  get responseHeader(): Headers {
    if (this.lazyResponseHeader === undefined) {
      const header = new Headers();
      const raw = this.rawResponseHeader;
      if (raw !== undefined) for (const name in raw) header.set(name, raw[name]!);
      this.rawResponseHeader = undefined;
      this.lazyResponseHeader = header;
    }
    return this.lazyResponseHeader;
  }

  /**
   * Appends a response header without making the Headers object (a per-call cost
   * InvokeService pays for every answer): the name lower case, values of one name
   * joined with ", " as Headers joins them.
   */
  appendResponseHeader(name: string, value: string): void {
    if (this.lazyResponseHeader !== undefined) return this.lazyResponseHeader.append(name, value);
    const raw = (this.rawResponseHeader ??= {});
    const had = raw[name];
    raw[name] = had === undefined ? value : `${had}, ${value}`;
  }

  get responseTrailer(): Headers {
    return (this.lazyResponseTrailer ??= new Headers());
  }

  get values(): ContextValues {
    if (this.lazyValues === undefined) {
      this.lazyValues = new CallValues();
      if (this.subjectStore !== undefined) this.flushSubject(this.lazyValues);
    }
    return this.lazyValues;
  }

  /**
   * The context values if they were made (given by the pipeline's steps, as the tracing step's
   * for a sampled call, or made by a handler), without making them and without adding the
   * recorded failure subject: what a component operation looks up its call's span in, on every call.
   */
  madeValues(): ContextValues | undefined {
    return this.lazyValues;
  }

  /** The context values if a handler used them or recorded a failure subject (the error mapping reads them), without making them otherwise. */
  recordedValues(): ContextValues | undefined {
    return this.subjectStore === undefined ? this.lazyValues : this.values;
  }

  /**
   * Records what the call hands to a component, for the error mapping's words
   * (handlers/call-context.ts's atComponent): in the context values when they
   * exist, else in two fields, so a call that succeeds makes no values and no subject.
   */
  recordFailureSubject(store: string, item: string | undefined): void {
    if (this.lazyValues !== undefined) {
      this.lazyValues.set(failureSubjectKey, { rpc: this.method.name as ComponentRpc, store, item });
      return;
    }
    this.subjectStore = store;
    this.subjectItem = item;
  }

  private flushSubject(values: ContextValues): void {
    values.set(failureSubjectKey, { rpc: this.method.name as ComponentRpc, store: this.subjectStore!, item: this.subjectItem });
    this.subjectStore = undefined;
    this.subjectItem = undefined;
  }

  /** True when a handler touched the response headers or trailers (they are made on first use). */
  get setResponseMetadata(): boolean {
    return this.lazyResponseHeader !== undefined || this.rawResponseHeader !== undefined || this.lazyResponseTrailer !== undefined;
  }

  /** The signal's abort without the signal (CallContext.whenAborted): listeners run in the order they were added. */
  whenAborted(listener: () => void): (() => void) | undefined {
    if (this.aborted) return undefined;
    const listeners = this.abortListeners;
    if (listeners === undefined) this.abortListeners = listener;
    else if (Array.isArray(listeners)) listeners.push(listener);
    else this.abortListeners = [listeners, listener];
    return () => this.stopWatching(listener);
  }

  private stopWatching(listener: () => void): void {
    const listeners = this.abortListeners;
    if (listeners === listener) this.abortListeners = undefined;
    else if (Array.isArray(listeners)) {
      const at = listeners.indexOf(listener);
      if (at >= 0) listeners.splice(at, 1);
    }
  }

  /**
   * Aborts the signal if anyone asked for it (the reason is given so no DOMException is made), and runs whenAborted's listeners.
   * Without a reason the call completed: that reason (abortReasons().completed) is made only for a signal someone asked for,
   * since a ConnectError's Headers load undici, over a megabyte of heap the first time, which a call that nobody watched
   * made on the first answer of every runtime.
   */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    if (this.controller !== undefined) this.controller.abort(this.reason());
    const listeners = this.abortListeners;
    if (listeners !== undefined) {
      this.abortListeners = undefined;
      if (Array.isArray(listeners)) for (const listener of listeners) listener();
      else listeners();
    }
  }

  private reason(): unknown {
    return this.abortReason ?? abortReasons().completed;
  }

  /** Response headers a handler set, as HTTP/2 headers (none when it set none). */
  extraHeaders(): Record<string, string> | undefined {
    return this.rawResponseHeader ?? headersRecord(this.lazyResponseHeader);
  }

  /** Response trailers a handler set. */
  extraTrailers(): Record<string, string> | undefined {
    return headersRecord(this.lazyResponseTrailer);
  }
}

function headersRecord(headers: Headers | undefined): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  let record: Record<string, string> | undefined;
  headers.forEach((value, name) => ((record ??= {})[name] = value));
  return record;
}
