/**
 * An error in a spec file, pinned to a 1-based line and column so editors and
 * CI logs can jump to it. Shared by every loader (proto and IDL).
 */
export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`);
    this.name = "SpecError";
  }
}

/** Several spec errors at once; the message lists them one per line. */
export class AggregateSpecError extends Error {
  constructor(readonly errors: readonly SpecError[]) {
    super(errors.map((e) => e.message).join("\n"));
    this.name = "AggregateSpecError";
  }
}

/** Orders errors by file, line, column (then text), so reports are stable whatever the check order. */
export function compareSpecErrors(a: SpecError, b: SpecError): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.column !== b.column) return a.column - b.column;
  return a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0;
}
