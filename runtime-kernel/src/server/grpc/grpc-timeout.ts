/** Milliseconds per grpc-timeout unit (PROTOCOL-HTTP2.md: Hours, Minutes, Seconds, milli, micro, nano). */
const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * The grpc-timeout header in milliseconds: 1 to 8 ASCII digits and a unit.
 * Undefined when absent; NaN when malformed (the caller answers with an error).
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Read in place, character by character: most calls carry a deadline, and a regex match and a slice per call were garbage.
  const digits = value.length - 1;
  const unit = unitMs[value.charAt(digits)];
  if (unit === undefined || digits < 1 || digits > 8) return NaN;
  let count = 0;
  for (let i = 0; i < digits; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return NaN;
    count = count * 10 + digit;
  }
  return count * unit;
}
