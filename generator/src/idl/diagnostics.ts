/** Collects checker errors so one run reports all of them. */
import { SpecError } from "../spec-error";
import type { Loc } from "./model";

export class Diagnostics {
  readonly errors: SpecError[] = [];

  error(loc: Loc, detail: string): void {
    this.errors.push(new SpecError(loc.file, loc.line, loc.column, detail));
  }
}

export function formatLoc(loc: Loc): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/** Earlier location first: by file, line, column. Declarations are visited in this order so "first declared at" is stable. */
export function compareLocs(a: Loc, b: Loc): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}
