import { logLevels, type LogLevel, type LoggingConfig } from "../config/observability-config";

/** Where a logger writes whole lines: info and below to stdout, warnings and errors to stderr. */
export interface LogSink {
  stdout(line: string): void;
  stderr(line: string): void;
  /** A stdout line that may wait a little to be written with others (an access line); stdout when absent. */
  stdoutLater?(line: string): void;
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
   */
  infoMembers(members: string): void {
    if (rank.info > this.threshold) return;
    const line = `{"time":"${isoNow()}","level":"info",${members}}`;
    if (this.sink.stdoutLater !== undefined) this.sink.stdoutLater(line);
    else this.sink.stdout(line);
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
    const record: Record<string, unknown> = { time: isoNow(), level, msg: message(line) };
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

/**
 * Now as an ISO 8601 string (as Date's toISOString), made at most once per
 * millisecond and without a Date but once per second: the access log writes a
 * record per call.
 */
function isoNow(): string {
  const now = Date.now();
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
