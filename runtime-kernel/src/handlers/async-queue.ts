import { Code, ConnectError } from "@connectrpc/connect";

/** Responses a streaming call may have waiting for its client by default (limits.maxQueuedStreamResponses). */
export const defaultQueueLimit = 1_000;

/**
 * A bounded single-consumer queue that is also an async iterator: producers push
 * (component callbacks, a request reader), the streaming handler iterates. end()
 * lets the consumer drain what is queued and finish; fail() makes its next read
 * throw, after what is already queued. No polling: a waiting consumer is woken by
 * the next push, end or fail.
 *
 * The bound is the backpressure of a stream whose client stopped reading: the
 * handler pulls the next item only once the transport took the last one, so
 * items pile up here. A push beyond `limit` cuts the consumer off: what is queued
 * is dropped (memory stays flat) and its next read throws RESOURCE_EXHAUSTED,
 * which ends the call with that status. Pub/sub events dropped that way were not
 * acknowledged, so the pubsub delivers them again; configuration changes are not
 * replayed, the client subscribes again and reads the current values.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  constructor(
    private readonly limit: number = defaultQueueLimit,
    /** Names the stream in the RESOURCE_EXHAUSTED message. */
    private readonly what: string = "the stream",
  ) {}

  private items: T[] = [];
  private head = 0;
  private waiter: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined;
  private finished = false;
  private failure: { error: unknown } | undefined;

  /** Whether end() or fail() was called. */
  get closed(): boolean {
    return this.finished;
  }

  /** Items waiting for the consumer. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Queues an item; false (and dropped) once the queue is closed, or when it overflowed and cut the consumer off. */
  push(item: T): boolean {
    if (this.finished) return false;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return true;
    }
    if (this.size >= this.limit) {
      this.items = [];
      this.head = 0;
      this.fail(
        new ConnectError(
          `${this.what} has ${this.limit} responses its client has not read (limits.maxQueuedStreamResponses); the stream is closed`,
          Code.ResourceExhausted,
        ),
      );
      return false;
    }
    this.items.push(item);
    return true;
  }

  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.wake();
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = { error };
    this.wake();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head];
      this.items[this.head++] = undefined as T;
      // Compact now and then, so a long-lived stream does not keep a growing array.
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The consumer stopped: drop what is queued. */
  return(): Promise<IteratorResult<T>> {
    this.finished = true;
    this.failure = undefined;
    this.items = [];
    this.head = 0;
    this.wake();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined || this.head < this.items.length) return;
    this.waiter = undefined;
    if (this.failure !== undefined) {
      const { error } = this.failure;
      this.failure = undefined;
      waiter.reject(error);
    } else {
      waiter.resolve({ value: undefined, done: true });
    }
  }
}
