import { logLevels, type LogLevel, type LoggingConfig } from "../config/observability-config";
import type { LineRoom } from "./line-output";

/** Where a logger writes whole lines: info and below to stdout, warnings and errors to stderr. */
export interface LogSink {
  stdout(line: string): void;
  stderr(line: string): void;
  /** A stdout line that may wait a little to be written with others (an access line); stdout when absent. */
  stdoutLater?(line: string): void;
  /**
   * Room to write a stdout line that may wait in place, as bytes (LineOutput's
   * reserveLater): undefined when the line is dropped or does not fit; then
   * commitLater(end). Without these, every line is a string.
   */
  reserveLater?(bytes: number): LineRoom | undefined;
  commitLater?(end: number): void;
  /** Lines the sink dropped because their reader fell behind (LineOutput's limit). */
  droppedLines?(): number;
}

/** Extra fields of a JSON log record (an access log's rpc, code, duration). */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

const rank: Readonly<Record<LogLevel, number>> = Object.fromEntries(logLevels.map((level, i) => [level, i])) as Record<LogLevel, number>;

/**
 * The runtime's logger: the lines Ottavo always printed (text, the default, so
 * scripts that wait for the ready line keep working), or one JSON object per
 * line ({"time","level","msg",...fields}) for log pipelines. Levels below the
 * configured one cost a comparison. Callers pass finished lines, never request
 * or response bodies, secret values or component metadata values: the logger
 * cannot tell a secret from other text, so nothing secret is ever handed to it.
 */
export class Logger {
  private level: LogLevel;
  private json: boolean;
  private threshold: number;

  constructor(
    private readonly sink: LogSink,
    settings: Pick<LoggingConfig, "level" | "format"> = { level: "info", format: "text" },
  ) {
    this.level = settings.level;
    this.json = settings.format === "json";
    this.threshold = rank[this.level];
  }

  /** Applies the config's level and format (the command line's level, when given, was already put in). */
  configure(settings: Pick<LoggingConfig, "level" | "format">): void {
    this.level = settings.level;
    this.json = settings.format === "json";
    this.threshold = rank[this.level];
  }

  /** Whether records are JSON (logging.format: json). */
  writesJson(): boolean {
    return this.json;
  }

  /**
   * Writes an info JSON record whose members after "time" and "level" the caller
   * serialised (`members`: `"msg":...,"key":value`, valid JSON), for the access
   * log's line per call; only in JSON format, where writesJson() is true. The
   * line may wait a little to be written with others (the sink's stdoutLater).
   * `at`: the record's time on the monotonic clock (performance.now()), now when absent.
   */
  infoMembers(members: string, at?: number): void {
    if (rank.info > this.threshold) return;
    const line = `{"time":"${isoTime(at ?? performance.now())}","level":"info",${members}}`;
    if (this.sink.stdoutLater !== undefined) this.sink.stdoutLater(line);
    else this.sink.stdout(line);
  }

  /**
   * Writes the access log's JSON record of one call, as infoMembers would with
   * members `${head}${code}","durationMs":<micros / 1000>` and `,"traceId":"<id>"`
   * when traced: `head` is the members up to the code's value, which the caller
   * makes once per rpc; `code` the gRPC code's name, `codeNumber` its number (the
   * head keeps the bytes up to the duration per code); traceId is ASCII (hex);
   * `endedAt` the call's end on the monotonic clock (the pipeline's
   * CallOutcome.endedAt), the record's time. Written in place into the sink's
   * batch when it has room for bytes (no string per line), else as infoMembers'
   * line. Only in JSON format.
   */
  infoAccess(head: AccessHead, codeNumber: number, code: string, micros: number, traceId: string | undefined, endedAt: number): void {
    if (rank.info > this.threshold) return;
    const sink = this.sink;
    if (sink.reserveLater !== undefined && micros >= 0 && micros < 1e15) {
      const upToDuration = head.upToDuration(codeNumber, code, endedAt);
      // The rest of the record: 22 bytes at most (20 for the duration, `}\n`), and the trace id's member.
      const bytes = upToDuration.length + 22 + (traceId === undefined ? 0 : traceId.length + 14);
      if (bytes <= maxInPlaceBytes) {
        const room = sink.reserveLater(bytes);
        // Undefined: dropped, and counted, by the sink.
        if (room !== undefined) sink.commitLater!(writeAccessRecord(room.buffer, room.at, upToDuration, micros, traceId));
        return;
      }
    }
    this.infoMembers(`${head.text}${code}","durationMs":${millisOf(micros)}${traceId ? `,"traceId":"${traceId}"` : ""}`, endedAt);
  }

  /** Lines not written because the reader of the log fell behind (0 when the sink drops none). */
  droppedLines(): number {
    return this.sink.droppedLines?.() ?? 0;
  }

  /**
   * Writes an info line that may wait a little to be written with others (the sink's
   * stdoutLater), as the access log's text line per call; in JSON format, as info().
   */
  infoText(line: string): void {
    if (rank.info > this.threshold) return;
    if (this.json) return this.write("info", line, undefined);
    if (this.sink.stdoutLater !== undefined) this.sink.stdoutLater(line);
    else this.sink.stdout(line);
  }

  /** Whether a line at this level would be written. */
  enabled(level: LogLevel): boolean {
    return rank[level] <= this.threshold;
  }

  error(line: string, fields?: LogFields): void {
    this.write("error", line, fields);
  }

  warn(line: string, fields?: LogFields): void {
    this.write("warn", line, fields);
  }

  info(line: string, fields?: LogFields): void {
    this.write("info", line, fields);
  }

  debug(line: string, fields?: LogFields): void {
    this.write("debug", line, fields);
  }

  trace(line: string, fields?: LogFields): void {
    this.write("trace", line, fields);
  }

  private write(level: LogLevel, line: string, fields: LogFields | undefined): void {
    if (rank[level] > this.threshold) return;
    const toStderr = level === "error" || level === "warn";
    if (!this.json) {
      const text = textLine(level, line);
      if (toStderr) this.sink.stderr(text);
      else this.sink.stdout(text);
      return;
    }
    const record: Record<string, unknown> = { time: isoTime(performance.now()), level, msg: message(line) };
    if (fields !== undefined) {
      for (const key in fields) if (record[key] === undefined) record[key] = fields[key];
    }
    const text = JSON.stringify(record);
    if (toStderr) this.sink.stderr(text);
    else this.sink.stdout(text);
  }
}

/** Text lines as Ottavo always printed them; a warning, debug or trace line says so after "ottavo:". */
function textLine(level: LogLevel, line: string): string {
  switch (level) {
    case "warn":
      return line.startsWith("ottavo:") ? line : `ottavo: warning: ${line}`;
    case "debug":
    case "trace":
      return `ottavo: ${level}: ${line.replace(/^ottavo: /, "")}`;
    default:
      return line;
  }
}

/** A JSON record's msg: the line without the "ottavo:" and level words the text format puts first. */
function message(line: string): string {
  return line.replace(/^ottavo: (?:(?:warning|error|debug|trace): )?/, "");
}

let isoMs = -1;
let isoText = "";
let isoSecond = -1;
/** `YYYY-MM-DDTHH:MM:SS.` of isoSecond. */
let isoSecondText = "";

/** Date.now() - performance.now() when last read, and when (on the monotonic clock). */
let wallOffset = Date.now() - performance.now();
let wallReadAt = performance.now();

/**
 * The wall-clock time, in milliseconds since the epoch, of a moment on the
 * monotonic clock (performance.now()): the access log's record takes the time
 * the pipeline read at the call's end instead of reading a clock per line (each
 * read costs ≈ 60 ns here). The two clocks are compared again once a second, so
 * a change of the system's time shows within a second; between, the times are
 * within a millisecond of Date.now()'s.
 */
function wallMs(monotonic: number): number {
  if (monotonic - wallReadAt >= 1000) {
    wallReadAt = performance.now();
    wallOffset = Date.now() - wallReadAt;
  }
  return Math.floor(wallOffset + monotonic);
}

/** A moment on the monotonic clock as an ISO 8601 string: every line's time is read from the same clock. */
function isoTime(monotonic: number): string {
  return isoAt(wallMs(monotonic));
}

/**
 * A time in whole milliseconds since the epoch as an ISO 8601 string (as Date's
 * toISOString), made at most once per millisecond and without a Date but once
 * per second: the access log writes a record per call.
 */
function isoAt(now: number): string {
  if (now === isoMs) return isoText;
  isoMs = now;
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoSecondText = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  isoText = `${isoSecondText}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z`;
  return isoText;
}

/**
 * The members of an access record up to its code's value (made once per rpc), and
 * per code the UTF-8 of the record up to the duration's value,
 * `{"time":"<time>","level":"info",<members><code>","durationMs":`, made on the
 * code's first line; its time is rewritten when a record of another millisecond
 * comes (at 40,000 calls a second, once every 40 records): a record is then one
 * copy of these bytes and its duration.
 */
export class AccessHead {
  private readonly byCode: (StampedRecord | undefined)[] = [];
  constructor(readonly text: string) {}

  /** The record up to its duration's value, of a call with this code that ended at `endedAt` on the monotonic clock. */
  upToDuration(codeNumber: number, code: string, endedAt: number): Buffer {
    const time = isoBytesAt(endedAt);
    const ms = isoBytesMs;
    let stamped = this.byCode[codeNumber];
    if (stamped !== undefined && stamped.ms === ms) return stamped.bytes;
    if (stamped === undefined || stamped.timeLength !== time.length) {
      // The first record with this code (or a time of another length, past the year 9999).
      const bytes = Buffer.concat([time, Buffer.from(`","level":"info",${this.text}${code}","durationMs":`, "utf8")]);
      this.byCode[codeNumber] = stamped = { bytes, ms, timeLength: time.length };
    } else {
      stamped.bytes.set(time, 0);
      stamped.ms = ms;
    }
    return stamped.bytes;
  }
}

/** One code's record up to the duration, and the millisecond (since the epoch) of its time. */
interface StampedRecord {
  readonly bytes: Buffer;
  ms: number;
  readonly timeLength: number;
}

/** A longer access record (an rpc name of kilobytes) is written as a string line. */
const maxInPlaceBytes = 8_192;

/** `,"traceId":"` */
const traceKey = Buffer.from(',"traceId":"', "latin1");

/**
 * Writes `{"time":"<time>","level":"info",<members><code>","durationMs":<ms>[,"traceId":"<id>"]}\n`
 * into the buffer at `at` and returns where it ends; the same bytes as the line
 * infoMembers writes. `upToDuration` is AccessHead's; `traceId` is ASCII;
 * `micros` a whole number from 0 to 1e15 (its milliseconds as millisText writes them).
 */
export function writeAccessRecord(buffer: Buffer, at: number, upToDuration: Uint8Array, micros: number, traceId: string | undefined): number {
  buffer.set(upToDuration, at);
  at = millis(buffer, at + upToDuration.length, micros);
  if (traceId) {
    buffer.set(traceKey, at);
    at = ascii(buffer, at + traceKey.length, traceId);
    buffer[at++] = 0x22; // "
  }
  buffer[at++] = 0x7d; // }
  buffer[at++] = 0x0a; // newline
  return at;
}

function ascii(buffer: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) buffer[at++] = text.charCodeAt(i);
  return at;
}

/** Milliseconds from whole microseconds (0 to 1e15) as digits: no trailing zeros, no point for a whole number. */
function millis(buffer: Buffer, at: number, micros: number): number {
  const whole = Math.floor(micros / 1000);
  let fraction = micros - whole * 1000;
  let digits = 1;
  for (let rest = whole; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let i = digits - 1, rest = whole; i >= 0; i--, rest = Math.floor(rest / 10)) buffer[at + i] = 0x30 + (rest % 10);
  at += digits;
  if (fraction === 0) return at;
  buffer[at++] = 0x2e; // .
  for (let unit = 100; fraction > 0; unit /= 10) {
    const digit = Math.floor(fraction / unit);
    buffer[at++] = 0x30 + digit;
    fraction -= digit * unit;
  }
  return at;
}

/** micros / 1000 as JavaScript writes it (the string path; millisText in access-log.ts is the same for whole micros). */
function millisOf(micros: number): string {
  return String(micros / 1000);
}

let isoBytesMs = -1;
/** `{"time":"` and the ISO time of isoBytesMs; the same buffer while the time has 24 characters (years 0 to 9999). */
let isoBytes = Buffer.from('{"time":"0000-00-00T00:00:00.000Z', "latin1");
/** `{"time":"` and the ISO time of a moment on the monotonic clock as ASCII bytes, written at most once per millisecond. */
function isoBytesAt(monotonic: number): Buffer {
  const text = isoTime(monotonic);
  if (isoMs !== isoBytesMs) {
    isoBytesMs = isoMs;
    if (text.length + 9 === isoBytes.length) isoBytes.write(text, 9, "latin1");
    else isoBytes = Buffer.from(`{"time":"${text}`, "latin1");
  }
  return isoBytes;
}

