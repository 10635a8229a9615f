/** Remembers the first declaration of each name so a repeat can point back at it. */
import type { Name } from "./ast";
import { formatLoc, type Diagnostics } from "./diagnostics";
import type { Loc } from "./model";

export class NameTable<T> {
  private readonly entries = new Map<string, { value: T; loc: Loc }>();

  constructor(
    private readonly diag: Diagnostics,
    /** Completes "duplicate <what> 'x'", e.g. "operation" → "duplicate operation 'get' in capability 'state'". */
    private readonly describe: (name: string) => string,
  ) {}

  /** Adds the name; on a repeat reports it and returns false. */
  add(name: Name, value: T): boolean {
    const first = this.entries.get(name.text);
    if (first) {
      this.diag.error(name.loc, `duplicate ${this.describe(name.text)} (first declared at ${formatLoc(first.loc)})`);
      return false;
    }
    this.entries.set(name.text, { value, loc: name.loc });
    return true;
  }

  get(name: string): T | undefined {
    return this.entries.get(name)?.value;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }
}
