import { invalidArgument } from "../errors/error-mapping";

/** The request metadata key Dapr and Layotto read a time to live from. */
export const ttlMetadataKey = "ttlInSeconds";

const int32Max = 2_147_483_647;
const integerPattern = /^[+-]?\d+$/;

/**
 * A state item's ttlInSeconds, as components-contrib's ParseTTL reads it: absent or
 * empty means none; otherwise a decimal integer from -1 (remove an expiry) to the
 * int32 maximum. Anything else is INVALID_ARGUMENT naming the key.
 */
export function stateTtl(metadata: Readonly<Record<string, string>>, key: string): number | undefined {
  const text = metadata[ttlMetadataKey];
  if (text === undefined || text === "") return undefined;
  const value = integerPattern.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < -1 || value > int32Max) {
    throw invalidArgument(
      `incorrect value for metadata '${ttlMetadataKey}' of key ${key}: want an integer from -1 to ${int32Max}, got '${text}'`,
    );
  }
  return value;
}

/**
 * A published message's ttlInSeconds, as components-contrib's TryGetTTL reads it:
 * absent or empty means none; otherwise a positive decimal integer.
 */
export function messageTtl(metadata: Readonly<Record<string, string>>): number | undefined {
  const text = metadata[ttlMetadataKey];
  if (text === undefined || text === "") return undefined;
  const value = integerPattern.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalidArgument(`${ttlMetadataKey} value must be a positive integer: actual is '${text}'`);
  }
  return value;
}
