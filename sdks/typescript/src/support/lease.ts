/**
 * The answer of lock.tryLock: whether the lock was taken and, if so, how to
 * give it back: call unlock() (in a finally), or, where the runtime has
 * Symbol.asyncDispose (Node 20 does), `await using lease = await client.lock.tryLock(...)`.
 */
export class Lease {
  private released = false;

  constructor(
    /** True when the caller now holds the lock. */
    readonly acquired: boolean,
    private readonly release: () => Promise<number>,
  ) {}

  /**
   * Releases the lock if this lease holds it; resolves with the runtime's unlock
   * status (0 = SUCCESS; see UnlockResponse_Status), or undefined when there was nothing to release.
   */
  async unlock(): Promise<number | undefined> {
    if (!this.acquired || this.released) return undefined;
    this.released = true;
    return this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }
}
