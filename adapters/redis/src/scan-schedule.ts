/**
 * When a subscription scans its group's pending list: at each time a known message
 * becomes due (wanted), and otherwise `periodicMs` after the last scan, for what
 * nobody announced (a runtime that stopped). Never two scans at once: wants made
 * during a scan wait for it to end.
 */
/** How early a Node timer may fire, in ms. */
const timerSlackMs = 2;

export class ScanSchedule {
  /** Times (ms since the epoch) a scan is wanted at, earliest first. */
  private wanted: number[] = [];
  private periodicAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  private stopped = false;

  constructor(
    /** Runs one scan; it handles its own failures. */
    private readonly scan: () => Promise<void>,
    private readonly periodicMs: number,
  ) {}

  /** Scans at once, then as wanted and periodically. */
  start(): void {
    this.arm();
  }

  /** Asks for a scan in delayMs: a message is expected to be due by then. */
  want(delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + Math.max(0, delayMs);
    // Wants a millisecond apart are one scan.
    if (this.wanted.some((t) => Math.abs(t - at) < 1)) return;
    this.wanted.push(at);
    this.wanted.sort((a, b) => a - b);
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || this.scanning) return;
    const at = Math.min(this.wanted[0] ?? Infinity, this.periodicAt);
    this.timer = setTimeout(() => void this.run(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || this.scanning) return;
    this.scanning = true;
    // What is wanted by now, this scan serves. Node timers may fire a millisecond
    // early, so a want due that close is served too (else it would scan again at once).
    const started = Date.now();
    this.wanted = this.wanted.filter((at) => at > started + timerSlackMs);
    try {
      await this.scan();
    } finally {
      this.scanning = false;
      this.periodicAt = Date.now() + this.periodicMs;
      this.arm();
    }
  }
}
