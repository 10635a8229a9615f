/**
 * A call with a deadline, linked into Deadlines' list by its own fields: adding
 * and removing one allocates nothing.
 */
export interface DeadlineEntry {
  /** When the deadline passes, on the clock Deadlines is given (performance.now() by default). */
  deadlineAt: number;
  deadlinePrev: DeadlineEntry | undefined;
  deadlineNext: DeadlineEntry | undefined;
  /** Called once, when the deadline has passed and the entry was not removed before. */
  deadlinePassed(): void;
}

/**
 * The deadlines of the calls in flight, on one Node timer armed for the earliest
 * of them. A timer per call (a Timeout and a closure, and a timer list insert and
 * removal) was a few hundred bytes of garbage on nearly every call, since most
 * clients send grpc-timeout and almost every call ends long before it. Here a
 * call that ends just leaves the list, and the timer stays as it is, also when the
 * list is empty (it does not keep the process alive); it is re-armed only when a
 * call comes with an earlier deadline than the armed one, or when it fires (then
 * the list is read through once, the passed deadlines are told, and it is armed
 * for the next). So a steady stream of calls with the same timeout arms it about
 * once per timeout, not once per call.
 */
export class Deadlines {
  private head: DeadlineEntry | undefined;
  private tail: DeadlineEntry | undefined;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Watches the entry's deadline (at, on this clock) until remove() or until it passes. */
  add(entry: DeadlineEntry, at: number): void {
    entry.deadlineAt = at;
    entry.deadlinePrev = this.tail;
    entry.deadlineNext = undefined;
    if (this.tail === undefined) this.head = entry;
    else this.tail.deadlineNext = entry;
    this.tail = entry;
    if (at < this.armedAt) this.arm(at);
  }

  /** Stops watching the entry; nothing happens when it is not watched. */
  remove(entry: DeadlineEntry): void {
    const { deadlinePrev: prev, deadlineNext: next } = entry;
    if (prev === undefined && this.head !== entry) return;
    if (prev === undefined) this.head = next;
    else prev.deadlineNext = next;
    if (next === undefined) this.tail = prev;
    else next.deadlinePrev = prev;
    entry.deadlinePrev = entry.deadlineNext = undefined;
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.armedAt = at;
    // Unref'd: a call in flight keeps the process alive by its connection; a deadline alone does not.
    this.timer = setTimeout(this.fire, Math.max(0, at - this.now())).unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = this.now();
    const passed: DeadlineEntry[] = [];
    let next = Infinity;
    for (let entry = this.head; entry !== undefined; entry = entry.deadlineNext) {
      if (entry.deadlineAt <= now) passed.push(entry);
      else if (entry.deadlineAt < next) next = entry.deadlineAt;
    }
    for (const entry of passed) this.remove(entry);
    if (next !== Infinity && next < this.armedAt) this.arm(next);
    for (const entry of passed) entry.deadlinePassed();
  };
}
