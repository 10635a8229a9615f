import { writeSync } from "node:fs";

/** The stream a file descriptor's lines go through when they cannot be written at once (process.stdout, process.stderr). */
export interface OutputStream {
  write(chunk: Uint8Array): boolean;
  /** Bytes the stream holds that its descriptor did not take yet (a pipe whose reader is behind). */
  readonly writableLength: number;
  /** Where the stream reports a write that failed (its reader is gone). */
  on?(event: "error", listener: (error: Error) => void): unknown;
}

/** Where a line that is written in place goes: the batch's buffer, from `at` on. The same object every time. */
export interface LineRoom {
  buffer: Buffer;
  at: number;
}

/** How long a line that may wait (an access line) waits at most for others to be written with. */
export const laterMs = 50;
/**
 * Pending lines are written at once when they reach this many bytes: 60 KB, so
 * that with the line that reaches it the write still fits an empty default pipe
 * (64 KB; the slab below is that size) and a reader that keeps up takes it whole.
 * A write to a pipe whose reader sleeps costs ≈ 20 µs here for waking it (on
 * another CPU) and ≈ 0.4 µs per KB copied: measured in a runtime at 40k access
 * lines a second, 32 KB writes took 0.26 µs per line and 60 KB writes 0.17 µs.
 */
export const batchBytes = 61_440;
/**
 * Lines that may wait are dropped (and counted) while the stream holds this many
 * bytes its reader has not taken: a stalled log reader costs at most this much memory.
 */
export const maxBacklogBytes = 4 * 1024 * 1024;
/** The batch's buffer; a line longer than this is written on its own. */
const slabBytes = 65_536;

/**
 * Lines for one file descriptor, written together: a write to a pipe or a file is
 * a system call (and, to a pipe, wakes its reader), and with the access log on
 * there is a line per call. Lines are put into one reused buffer as they come (a
 * JSON access line in place, as bytes: no string per line, nothing to join or
 * convert at the write). A line is written at the end of the event loop's turn; a
 * line that may wait (an access line, `later`) is written with the next line that
 * may not, when 60 KB are pending, or within 50 ms, so under load access lines go
 * out in a few large writes instead of one per turn.
 *
 * A write goes straight to the descriptor while the stream holds nothing (stdout
 * and stderr as pipes are non-blocking once Node made their stream, which happens
 * before the first write); what the descriptor does not take (a full pipe) is
 * copied to the stream, which writes it when the reader catches up, and later
 * writes queue behind it, in order. While the stream holds 4 MB or more, lines
 * that may wait are dropped and counted (`dropped`, ottavo_log_lines_dropped_total),
 * so a stalled reader cannot grow the runtime's memory without bound; other lines
 * (warnings, errors, the ready line) are always kept. A process exit writes what
 * is still pending (flushSync).
 *
 * A descriptor that fails with anything but EAGAIN (EPIPE: its reader is gone) is
 * given up on: its lines are dropped and counted from then on, and `onGone` is
 * told once. Before, each later write failed again and was reported as an
 * internal error, a stack trace every few milliseconds under load.
 */
export class LineOutput {
  private readonly slab = Buffer.allocUnsafeSlow(slabBytes);
  private at = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private stream: OutputStream | undefined;
  private readonly room: LineRoom = { buffer: this.slab, at: 0 };
  private gone = false;
  /** Lines dropped: lines that may wait while the stream's backlog was at its limit, and every line once the descriptor is gone. */
  dropped = 0;

  constructor(
    private readonly fd: number,
    private readonly streamOf: () => OutputStream,
    private readonly maxBacklog = maxBacklogBytes,
    private readonly onGone: (error: Error) => void = () => undefined,
  ) {}

  /** Adds a line (without its newline); `later`: it may wait to be written with others. */
  add(line: string, later = false): void {
    if (this.gone || (later && this.backlogged())) {
      this.dropped++;
      return;
    }
    const most = line.length * 3 + 1;
    if (most > slabBytes - this.at) {
      this.flush();
      if (most > slabBytes) {
        this.write(Buffer.from(`${line}\n`), false);
        return;
      }
    }
    this.at += this.slab.write(line, this.at, "utf8");
    this.slab[this.at++] = 10;
    this.added(later);
  }

  /**
   * Room for a line that may wait, to be written in place: at least `bytes` bytes
   * of room.buffer from room.at on; commitLater(end) then adds the line (its
   * newline included). Undefined when the line is dropped (the stream's backlog is
   * at its limit), or longer than the buffer (then add() it as a string).
   */
  reserveLater(bytes: number): LineRoom | undefined {
    if (this.gone || this.backlogged()) {
      this.dropped++;
      return undefined;
    }
    if (bytes > slabBytes) return undefined;
    if (bytes > slabBytes - this.at) this.flush();
    this.room.buffer = this.slab;
    this.room.at = this.at;
    return this.room;
  }

  /** Adds the line written into reserveLater's room, which ends before `end`. */
  commitLater(end: number): void {
    this.at = end;
    this.added(true);
  }

  /** Writes what is pending now. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.at === 0) return;
    const end = this.at;
    this.at = 0;
    this.write(this.slab.subarray(0, end), true);
  };

  /** At exit: straight to the file descriptor, since no callback runs any more. */
  flushSync(): void {
    if (this.gone) return;
    let from = 0;
    const end = this.at;
    this.at = 0;
    try {
      while (from < end) from += writeSync(this.fd, this.slab, from, end - from);
    } catch {
      // A full pipe or a reader that is gone: nothing more can be written now.
    }
  }

  /** `reused`: bytes of the slab, copied if the stream has to keep them. */
  private write(bytes: Buffer, reused: boolean): void {
    if (this.gone) {
      this.dropLines(bytes);
      return;
    }
    const stream = this.output();
    let written = 0;
    if (stream.writableLength === 0) {
      try {
        written = writeSync(this.fd, bytes, 0, bytes.length);
      } catch (error) {
        // EAGAIN: the pipe is full, and the stream writes the rest when its reader catches up.
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") {
          this.giveUp(error as Error, bytes);
          return;
        }
      }
    }
    if (written < bytes.length) {
      const rest = bytes.subarray(written);
      stream.write(reused ? Buffer.from(rest) : rest);
    }
  }

  private backlogged(): boolean {
    return this.output().writableLength >= this.maxBacklog;
  }

  private output(): OutputStream {
    if (this.stream === undefined) {
      this.stream = this.streamOf();
      // What the stream held when its reader went away fails there; without a listener, an uncaught error.
      this.stream.on?.("error", (error) => this.giveUp(error));
    }
    return this.stream;
  }

  /** The descriptor cannot be written any more: `unwritten`'s lines, and every later one, are dropped and counted. */
  private giveUp(error: Error, unwritten?: Buffer): void {
    if (unwritten !== undefined) this.dropLines(unwritten);
    if (this.gone) return;
    this.gone = true;
    this.dropLines(this.slab.subarray(0, this.at));
    this.at = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.onGone(error);
  }

  private dropLines(bytes: Buffer): void {
    for (const byte of bytes) if (byte === 10) this.dropped++;
  }

  private added(later: boolean): void {
    if (this.at >= batchBytes) this.flush();
    else if (!later) {
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    } else if (!this.scheduled && this.timer === undefined) {
      this.timer = setTimeout(this.flush, laterMs).unref();
    }
  }
}
