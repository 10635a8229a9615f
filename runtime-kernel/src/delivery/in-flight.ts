import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The deliveries to the app under way, so that shutdown can wait for them, and
 * cancel them once the drain bound has passed (a cancelled call answers RETRY:
 * the message stays with the pubsub).
 */
export class InFlightDeliveries {
  private count = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly aborter = new AbortController();
  private readonly stopper = new AbortController();
  private accepting = true;

  /** Aborted by cancel(): every call to the app listens to it. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /**
   * Aborted by stop(): what waits to call the app again (a retry's backoff, an
   * open circuit breaker) gives up, so its message goes back to the pubsub.
   */
  get stopping(): AbortSignal {
    return this.stopper.signal;
  }

  get size(): number {
    return this.count;
  }

  /** False once stop() was called: new messages are answered RETRY without calling the app. */
  get isAccepting(): boolean {
    return this.accepting;
  }

  stop(): void {
    this.accepting = false;
    this.stopper.abort(new ConnectError("the runtime is shutting down", Code.Canceled));
  }

  cancel(): void {
    this.aborter.abort(new ConnectError("the runtime is shutting down", Code.Canceled));
  }

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      this.count--;
      if (this.count === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        waiters.forEach((wake) => wake());
      }
    }
  }

  /** Resolves once no delivery is under way. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
