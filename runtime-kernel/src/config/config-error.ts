/**
 * A config file the runtime cannot start from. Each problem is one finished line
 * that names the file and, where there is one, the capability, component and
 * field; all problems of a file are collected so one edit can fix them all.
 */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** Collects the problems and warnings of one config file, each prefixed with the file. */
export class ConfigReport {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];

  constructor(readonly file: string) {}

  problem(text: string): void {
    this.problems.push(`${this.file}: ${text}`);
  }

  warning(text: string): void {
    this.warnings.push(`${this.file}: ${text}`);
  }

  /** Throws a ConfigError when any problem was found. */
  throwIfProblems(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}
