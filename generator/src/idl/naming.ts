/**
 * Naming rules. They keep generated TypeScript idiomatic without renaming
 * anything: what the spec says is what the vendor types.
 */
import type { Name } from "./ast";
import type { Diagnostics } from "./diagnostics";

export type NamingStyle = "lowerCamel" | "UpperCamel" | "UPPER_SNAKE";

const PATTERNS: Record<NamingStyle, { re: RegExp; describe: string }> = {
  lowerCamel: { re: /^[a-z][a-zA-Z0-9]*$/, describe: "lowerCamelCase (letters and digits, starting lowercase), like 'bulkGet'" },
  UpperCamel: { re: /^[A-Z][a-zA-Z0-9]*$/, describe: "UpperCamelCase (letters and digits, starting uppercase), like 'GetRequest'" },
  UPPER_SNAKE: { re: /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, describe: "UPPER_SNAKE_CASE, like 'DEAD_LETTER'" },
};

/** Reports `<what> 'x' must be <style>` when the name breaks the rule; returns whether it passed. */
export function checkNaming(diag: Diagnostics, name: Name, what: string, style: NamingStyle): boolean {
  const rule = PATTERNS[style];
  if (rule.re.test(name.text)) return true;
  diag.error(name.loc, `${what} '${name.text}' must be ${rule.describe}`);
  return false;
}

/** Adapter types follow Layotto's names: "in-memory", "redis", "local.file", "aws.s3". */
const ADAPTER_TYPE = /^[a-z0-9]+([.\-_][a-z0-9]+)*$/;

export function checkAdapterType(diag: Diagnostics, type: Name): void {
  if (!ADAPTER_TYPE.test(type.text)) {
    diag.error(
      type.loc,
      `adapter type ${JSON.stringify(type.text)} must be lowercase letters and digits, separated by single '.', '-' or '_', like "in-memory" or "local.file"`,
    );
  }
}
