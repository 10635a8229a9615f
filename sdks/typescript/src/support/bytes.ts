/** Bytes as callers have them: raw, or text sent as UTF-8. */
export type Bytes = Uint8Array | string;

const encoder = new TextEncoder();

export function toBytes(value: Bytes): Uint8Array;
export function toBytes(value: Bytes | undefined): Uint8Array | undefined;
export function toBytes(value: Bytes | undefined): Uint8Array | undefined {
  return typeof value === "string" ? encoder.encode(value) : value;
}
