const patterns = new Map<string, RegExp>();

/** A spec pattern (JavaScript, unicode mode) compiled once per process; used by the metadata and request checks. */
export function compiledPattern(pattern: string): RegExp {
  let regex = patterns.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(pattern, "u");
    patterns.set(pattern, regex);
  }
  return regex;
}
