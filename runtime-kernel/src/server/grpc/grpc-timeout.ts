/** Milliseconds per grpc-timeout unit (PROTOCOL-HTTP2.md: Hours, Minutes, Seconds, milli, micro, nano). */
const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * The grpc-timeout header in milliseconds: 1 to 8 ASCII digits and a unit.
 * Undefined when absent; NaN when malformed (the caller answers with an error).
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const unit = unitMs[value.charAt(value.length - 1)];
  const digits = value.slice(0, -1);
  if (unit === undefined || digits.length < 1 || digits.length > 8 || !/^[0-9]+$/.test(digits)) return NaN;
  return Number(digits) * unit;
}
