/**
 * Hands items to an async handler one at a time, in the order they were pushed:
 * what a subscription needs so its handler sees changes in order and never two at
 * once. A handler that throws loses only that item (the handler reports its own
 * failures); close() drops whatever is still queued.
 */
export class SerialDelivery<T> {
  private readonly pending: T[] = [];
  private draining = false;
  private closed = false;

  constructor(private readonly handler: (item: T) => Promise<void>) {}

  push(item: T): void {
    if (this.closed) return;
    this.pending.push(item);
    if (!this.draining) void this.drain();
  }

  close(): void {
    this.closed = true;
    this.pending.length = 0;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let item = this.pending.shift(); item !== undefined && !this.closed; item = this.pending.shift()) {
        try {
          await this.handler(item);
        } catch {
          // Delivery of the next item must not depend on this one.
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
