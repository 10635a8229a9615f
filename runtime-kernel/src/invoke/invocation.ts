/**
 * One service invocation as the kernel hands it to a target, whatever the target
 * is (an HTTP service, another runtime, the local app, a wasm function). It is the
 * InvokeService request with the HTTP defaults applied and the caller's metadata
 * already filtered, so targets never see the gRPC shapes.
 */
export interface InvocationRequest {
  /** The target's id as the caller gave it (an app id, a Layotto rpc id, a function id). */
  readonly id: string;
  /** The method: a path for HTTP targets (no leading "/" needed), a name for functions. */
  readonly method: string;
  /** The HTTP verb, upper case; POST when the caller gave none (as Dapr). */
  readonly verb: string;
  /** The query string without "?"; empty when none. */
  readonly query: string;
  /** The media type of data; empty when the caller gave none. */
  readonly contentType: string;
  readonly data: Uint8Array;
  /** The caller's metadata that may travel on: hop-by-hop and runtime-internal headers are removed. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Fires when the caller goes away, its deadline passes or a resiliency timeout cuts the attempt. */
  readonly signal: AbortSignal;
  /**
   * The same abort without an AbortSignal, when the call's context tracks aborts
   * itself (the gRPC fast path makes its AbortController only when asked): calls
   * listener once on abort; answers the function that stops watching, or undefined
   * when the call is aborted already. Targets watch with component-runtime's whenAborted(). A copy of
   * the request given another signal ({ ...request, signal }) must not carry it:
   * requests made by the handler hold it on their prototype, which a spread leaves out.
   */
  readonly whenAborted?: (listener: () => void) => (() => void) | undefined;
  /** How many runtimes this call has already crossed (0 when it comes from an app). */
  readonly hops: number;
  /**
   * When the caller's deadline passes, as performance.now() reads it; undefined
   * without one. Another runtime is sent the time left, so it stops the call itself too.
   */
  readonly deadline?: number;
}

/** What the target answered. A non-2xx status is an answer, not an error: the kernel maps it. */
export interface InvocationResponse {
  /** The HTTP status; targets that are not HTTP answer 200 on success. */
  readonly status: number;
  readonly contentType: string;
  readonly data: Uint8Array;
  /** Headers of the answer that may travel back to the caller (already filtered). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/**
 * Something InvokeService can call. Implementations throw InvocationError (or a
 * ConnectError) when the call could not be made or did not complete; an answer
 * with any status is returned, not thrown.
 */
export interface InvocationTarget {
  /** For messages: "HTTP service http://127.0.0.1:8889", "runtime of app 'b' at 127.0.0.1:4000". */
  readonly description: string;
  invoke(request: InvocationRequest): Promise<InvocationResponse>;
  /** Releases connections; called when the target is unregistered or the runtime stops. */
  close?(): Promise<void> | void;
}

/** HTTP verbs a retry may repeat without changing the outcome (RFC 9110 section 9.2.2). */
export const idempotentVerbs: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
