import { create, createRegistry, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { file_google_protobuf_any, file_google_protobuf_empty } from "@bufbuild/protobuf/wkt";
import { codecs } from "@ottavo/generated/codecs/index";
import { file_spec_proto_runtime_v1_appcallback } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { file_spec_proto_runtime_v1_lifecycle } from "@ottavo/generated/spec/proto/runtime/v1/lifecycle_pb";
import { file_spec_proto_runtime_v1_runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { join } from "node:path";
import { isNativeError } from "node:util/types";
import type { MessageCodec as Codec } from "@ottavo/component-runtime";
import { compareDecode, fuzz, type Mismatch } from "./codec-oracle";
import { loadFixtureCodecs, type LoadedCodecs } from "./fixture-codecs";
import { randomInit, Rng } from "./random-messages";

/**
 * Hostile input: corrupted messages decoded by every generated codec and by
 * protobuf-es must give the same answer (both reject with an Error, or both
 * give the same message), and nothing else may happen: no other throwable, no
 * hang, no allocation sized by a length the input only claims.
 */
const registry = createRegistry(
  file_spec_proto_runtime_v1_runtime,
  file_spec_proto_runtime_v1_appcallback,
  file_spec_proto_runtime_v1_lifecycle,
  file_google_protobuf_any,
  file_google_protobuf_empty,
);

function samplesOf(rng: Rng, schema: DescMessage, n: number): Uint8Array[] {
  const samples: Uint8Array[] = [];
  for (let i = 0; i < n; i++) samples.push(toBinary(schema, create(schema, randomInit(rng, schema))));
  return samples;
}

let fixture: LoadedCodecs;
beforeAll(() => {
  fixture = loadFixtureCodecs(join(__dirname, "..", "fixtures", "codecs"));
});
afterAll(() => fixture.dispose());

it("at least 100,000 corrupted messages decode as protobuf-es decodes them", () => {
  // Most corrupted inputs throw; capturing a stack per throw would be most of the run time.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    fuzzEveryCodec();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
});

function fuzzEveryCodec(): void {
  const rng = new Rng(20261204);
  const targets: [Codec, DescMessage][] = Object.keys(codecs).map((t) => [codecs[t], registry.getMessage(t)!]);
  for (const t of ["spec.proto.codecs.v1.AllScalars", "spec.proto.codecs.v1.Outer"]) targets.push([fixture.codecs[t], fixture.schema(t)]);
  const perTarget = Math.ceil(100_000 / targets.length);
  let inputs = 0;
  const mismatches: Mismatch[] = [];
  for (const [codec, schema] of targets) {
    mismatches.push(...fuzz(rng, codec, schema, samplesOf(rng, schema, 20), perTarget));
    inputs += perTarget;
  }
  expect(inputs).toBeGreaterThanOrEqual(100_000);
  expect(mismatches.slice(0, 3)).toEqual([]);
}

describe("hostile input, case by case", () => {
  const getState = () => [codecs["spec.proto.runtime.v1.GetStateRequest"], registry.getMessage("spec.proto.runtime.v1.GetStateRequest")!] as const;
  const outer = () => [fixture.codecs["spec.proto.codecs.v1.Outer"], fixture.schema("spec.proto.codecs.v1.Outer")] as const;
  const scalars = () => [fixture.codecs["spec.proto.codecs.v1.AllScalars"], fixture.schema("spec.proto.codecs.v1.AllScalars")] as const;

  function expectSame([codec, schema]: readonly [Codec, DescMessage], bytes: Uint8Array): void {
    expect(compareDecode(codec, schema, bytes, "hostile input")).toBeUndefined();
  }
  function rejects(decode: () => unknown): boolean {
    try {
      decode();
      return false;
    } catch (err) {
      // isNativeError, not instanceof: under jest, TextDecoder's TypeError comes from another realm
      return isNativeError(err);
    }
  }
  function expectRejected([codec, schema]: readonly [Codec, DescMessage], bytes: Uint8Array): void {
    expect(rejects(() => fromBinary(schema, bytes))).toBe(true);
    expect(rejects(() => codec.decode(bytes))).toBe(true);
  }
  const huge = [0xff, 0xff, 0xff, 0xff, 0x0f];

  it("a length larger than the buffer is rejected at once (string, bytes, message, map entry, packed list)", () => {
    expectRejected(getState(), Uint8Array.from([0x0a, ...huge, 0x61]));
    expectRejected(getState(), Uint8Array.from([0x22, ...huge, 0x0a, 0x01, 0x61]));
    expectRejected(outer(), Uint8Array.from([0x12, ...huge, 0x0a, 0x01, 0x61, 0x0a, 0x01, 0x61]));
    expectRejected(scalars(), Uint8Array.from([0xb2, 0x01, ...huge, 0x01, 0x02]));
    expectRejected(scalars(), Uint8Array.from([0x62, ...huge]));
  });

  it("truncated and overlong varints, bad tags and bad wire types are rejected", () => {
    // a known field is read by its type whatever the wire type says, as protobuf-es does
    expectSame(getState(), Uint8Array.from([0x0b, 0x01, 0x02]));
    for (const bytes of [
      [0x08],
      [0x08, 0x80],
      [0x80],
      [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
      [0x00, 0x01],
      [0x0e, 0x01],
      [0x0f, 0x01],
      [0x0c],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
      [0x0a, 0x02, 0x61],
    ]) {
      expectSame(getState(), Uint8Array.from(bytes));
      expectRejected(getState(), Uint8Array.from(bytes));
    }
  });

  it("invalid UTF-8 in a string field is rejected, in short and long strings", () => {
    expectRejected(getState(), Uint8Array.from([0x0a, 0x02, 0xc3, 0x28]));
    expectRejected(getState(), Uint8Array.from([0x12, 0x28, ...new Array<number>(39).fill(0x61), 0xff]));
    expectRejected(getState(), Uint8Array.from([0x22, 0x04, 0x0a, 0x02, 0xed, 0xa0]));
  });

  it("short strings decode as protobuf-es decodes them: ASCII of every length up to the char-by-char limit and past it, UTF-8, a NUL", () => {
    const keys = ["", "k", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh", "abcdefghi", "é", "aé", "日本", "🙂", "a\u0000b", "\u007f"];
    for (const key of keys) {
      const bytes = new BinaryWriter().tag(2, WireType.LengthDelimited).string(key).finish();
      expectSame(getState(), bytes);
      expect((getState()[0].decode(bytes) as unknown as { key: string }).key).toBe(key);
    }
    // Bytes 0x80-0xff alone are not UTF-8: rejected in a short string too.
    for (const b of [0x80, 0xbf, 0xc3, 0xff]) expectRejected(getState(), Uint8Array.from([0x12, 0x02, 0x61, b]));
  });

  it("nesting deeper than protobuf-es's recursion limit is rejected, and the limit itself accepted", () => {
    const nested = (levels: number): Uint8Array => {
      let inner = new Uint8Array(0);
      for (let i = 0; i < levels; i++) inner = new BinaryWriter().tag(18, WireType.LengthDelimited).bytes(inner).finish();
      return inner;
    };
    expectSame(outer(), nested(99));
    expect(() => fixture.codecs["spec.proto.codecs.v1.Outer"].decode(nested(99))).not.toThrow();
    expectSame(outer(), nested(100));
    expectRejected(outer(), nested(100));
    const groups = (depth: number): Uint8Array => {
      const w = new BinaryWriter();
      for (let i = 0; i < depth; i++) w.tag(90, WireType.StartGroup);
      for (let i = 0; i < depth; i++) w.tag(90, WireType.EndGroup);
      return w.finish();
    };
    expectSame(getState(), groups(50));
    expectSame(getState(), groups(99));
    expectSame(getState(), groups(100));
    expectRejected(getState(), groups(100));
  });

  it("a map key __proto__ is stored as protobuf-es stores it", () => {
    const entry = (key: string) => new BinaryWriter().tag(4, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(key).tag(2, WireType.LengthDelimited).string("v").join().finish();
    expectSame(getState(), entry("__proto__"));
    const sm = new BinaryWriter().tag(10, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("__proto__").tag(2, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("t").join().join().finish();
    expectSame(outer(), sm);
  });

  it("throws only Errors, never anything else, on random bytes", () => {
    const rng = new Rng(7);
    for (let i = 0; i < 2000; i++) {
      const bytes = rng.bytes(rng.int(64));
      for (const [codec] of [getState(), outer(), scalars()]) {
        try {
          codec.decode(bytes);
        } catch (err) {
          expect(isNativeError(err)).toBe(true);
        }
      }
    }
  });
});
