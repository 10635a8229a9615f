/**
 * What outlives a single request: the keep-alive pool and the requests in flight,
 * each with one abort signal that its timeout (covering the whole exchange) or
 * close() fires, so closing the binding cancels its requests and ends its connections.
 */
import type { HeaderList } from "./request-headers";
import { AgentPool } from "./agent-pool";
import { exchange, type Answer } from "./http-exchange";

/** Why a call's signal was aborted. */
export type AbortCause = "timeout" | "close";

/** One request's cancellation, from its start until end(). */
export interface Call {
  /** Aborted by the call's timeout or by the client's close(). */
  readonly signal: AbortSignal;
  /** What aborted the signal first, if anything did. */
  readonly abortedBy: AbortCause | undefined;
  /** Stops the timer and forgets the call; once it is done, whatever its outcome. */
  end(): void;
}

const maxTimerMs = 2 ** 31 - 1;

export class HttpClient {
  private readonly inFlight = new Set<(cause: AbortCause) => void>();
  private readonly agents = new AgentPool();
  private isClosed = false;

  /** Whether close() was called; no call should start after it. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Starts a call whose signal is aborted after timeoutMs (0 means never) or by close(). */
  begin(timeoutMs: number): Call {
    // One controller per request, aborted by its own timer or by close(): no signal outlives its request.
    const controller = new AbortController();
    let abortedBy: AbortCause | undefined;
    const abort = (cause: AbortCause): void => {
      abortedBy ??= cause;
      controller.abort(new Error(cause === "timeout" ? "the response timeout passed" : "the binding is closing"));
    };
    // Timers beyond 2^31-1 ms would fire at once, so longer timeouts are capped (about 24 days).
    const timer = timeoutMs > 0 ? setTimeout(abort, Math.min(timeoutMs, maxTimerMs), "timeout") : undefined;
    this.inFlight.add(abort);
    return {
      signal: controller.signal,
      get abortedBy() {
        return abortedBy;
      },
      end: () => {
        clearTimeout(timer);
        this.inFlight.delete(abort);
      },
    };
  }

  /** Sends the request through the client's pool and follows redirects; resolves with the final response, its body unread. */
  exchange(url: string, method: string, headers: HeaderList, body: Buffer | undefined, signal: AbortSignal, followRedirects = false): Promise<Answer> {
    return exchange(url, method, headers, body, signal, (protocol) => this.agents.get(protocol), followRedirects);
  }

  /** Aborts every call in flight and destroys the pool's connections. */
  close(): void {
    this.isClosed = true;
    for (const abort of this.inFlight) abort("close");
    this.inFlight.clear();
    this.agents.destroy();
  }
}
