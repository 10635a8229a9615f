/**
 * Go-style durations ("5s", "100ms", "1m30s", "1.5h"), the format Layotto and
 * Dapr metadata use, so existing component configs carry over unchanged.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3, // micro sign
  "\u03bcs": 1e-3, // Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const COMPONENT = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;

/**
 * Parses a duration as Go's time.ParseDuration does, returning milliseconds
 * (possibly fractional), or undefined when the text is not a duration.
 * With `bareMilliseconds`, a plain integer such as "250" is read as
 * milliseconds, which is how the runtime reads config values.
 */
export function parseDuration(text: string, options: { bareMilliseconds?: boolean } = {}): number | undefined {
  if (options.bareMilliseconds && /^\d+$/.test(text)) return Number(text);
  let pos = 0;
  let sign = 1;
  if (text.startsWith("-") || text.startsWith("+")) {
    sign = text.startsWith("-") ? -1 : 1;
    pos = 1;
  }
  const rest = text.slice(pos);
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < rest.length) {
    const match = COMPONENT.exec(rest);
    if (!match) return undefined;
    const [, amount, unit] = match;
    if (amount === undefined || unit === undefined) return undefined;
    total += Number(amount) * (UNIT_MS[unit] ?? Number.NaN);
  }
  return Number.isFinite(total) ? sign * total : undefined;
}

export function isDuration(text: string): boolean {
  return parseDuration(text) !== undefined;
}
