/**
 * Durations as Layotto and Dapr metadata write them: Go-style "5s", "100ms",
 * "1m30s", "1.5h". The grammar is the one the runtime's metadata reader
 * accepts (no sign, digits before any decimal point), so a default that passes
 * here also parses at run time.
 */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "\u00b5s": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const DURATION = /^(\d+(\.\d+)?(ns|us|\u00b5s|ms|s|m|h))+$/;
const COMPONENT = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g;

/**
 * Parses a duration into milliseconds (possibly fractional), or undefined when
 * the text is not one. "0" is zero, as in Go. With `bareMilliseconds`, any plain
 * integer such as "250" is read as milliseconds, which is how the runtime reads
 * config values; spec defaults must carry a unit.
 */
export function parseDuration(text: string, options: { bareMilliseconds?: boolean } = {}): number | undefined {
  if (text === "0") return 0;
  if (/^\d+$/.test(text)) return options.bareMilliseconds ? Number(text) : undefined;
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(COMPONENT)) total += Number(amount) * (UNIT_MS[unit ?? ""] ?? 0);
  return total;
}

export function isDuration(text: string): boolean {
  return parseDuration(text) !== undefined;
}
