import { isNativeError } from "node:util/types";
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import type { MessageCodec as Codec } from "@ottavo/component-runtime";
import { randomInit, randomUnknown, type Rng } from "./random-messages";
import { canonical, mutate, wireVariants } from "./wire-variants";

/** A disagreement between a generated codec and protobuf-es, with what reproduces it. */
export interface Mismatch {
  typeName: string;
  what: string;
  input: string;
  expected: string;
  actual: string;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Long values cut, so that a failure report stays readable. */
function cut(text: string): string {
  return text.length > 600 ? `${text.slice(0, 600)}... (${text.length} chars)` : text;
}

/** A decode's outcome: the value in canonical form, or that it threw (only an Error counts). */
function outcome(decode: () => unknown): string {
  try {
    return canonical(decode());
  } catch (err) {
    // isNativeError, not instanceof: under jest, TextDecoder's TypeError comes from another realm
    return isNativeError(err) ? "throws an Error" : `throws a non-Error: ${String(err)}`;
  }
}

/** Decodes with both; they must both throw an Error, or both give the same value. */
export function compareDecode(codec: Codec, schema: DescMessage, bytes: Uint8Array, what: string): Mismatch | undefined {
  const expected = outcome(() => fromBinary(schema, bytes));
  const actual = outcome(() => codec.decode(bytes));
  return expected === actual ? undefined : { typeName: schema.typeName, what, input: cut(hex(bytes)), expected: cut(expected), actual: cut(actual) };
}

/** Encodes an init with both; the bytes must be equal, or both must throw an Error. */
export function compareEncode(codec: Codec, schema: DescMessage, init: Record<string, unknown>, what: string): Mismatch | undefined {
  const expected = outcome(() => hex(toBinary(schema, create(schema, init))));
  const actual = outcome(() => hex(codec.encode(init)));
  return expected === actual ? undefined : { typeName: schema.typeName, what, input: cut(canonical(init)), expected: cut(expected), actual: cut(actual) };
}

/**
 * The round trip for one codec: random inits (as init objects and as created
 * messages carrying unknown fields) encoded by both; what protobuf-es wrote,
 * and other legal encodings of it, decoded by both.
 */
export function roundTrip(rng: Rng, codec: Codec, schema: DescMessage, rounds: number): { mismatches: Mismatch[]; samples: Uint8Array[] } {
  const mismatches: Mismatch[] = [];
  const samples: Uint8Array[] = [];
  const note = (m: Mismatch | undefined) => m && mismatches.push(m);
  for (let i = 0; i < rounds; i++) {
    const init = randomInit(rng, schema);
    note(compareEncode(codec, schema, init, "encode of an init object"));
    const message = create(schema, init);
    if (rng.chance(0.5)) message.$unknown = randomUnknown(rng, schema);
    note(compareEncode(codec, schema, message as unknown as Record<string, unknown>, "encode of a message"));
    const bytes = toBinary(schema, message);
    samples.push(bytes);
    note(compareDecode(codec, schema, bytes, "decode of protobuf-es's bytes"));
    for (const variant of wireVariants(rng, schema, bytes)) note(compareDecode(codec, schema, variant, "decode of another encoding"));
  }
  return { mismatches, samples };
}

/** Decodes `count` corruptions of the samples with both and collects disagreements. */
export function fuzz(rng: Rng, codec: Codec, schema: DescMessage, samples: readonly Uint8Array[], count: number): Mismatch[] {
  const mismatches: Mismatch[] = [];
  for (let i = 0; i < count; i++) {
    const input = mutate(rng, rng.pick(samples), rng.pick(samples));
    const m = compareDecode(codec, schema, input, "decode of a corrupted message");
    if (m) mismatches.push(m);
  }
  return mismatches;
}
