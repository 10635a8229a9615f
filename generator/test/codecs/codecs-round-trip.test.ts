import { create, createRegistry, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { file_google_protobuf_any, file_google_protobuf_empty } from "@bufbuild/protobuf/wkt";
import { codecs } from "@ottavo/generated/codecs/index";
import { file_spec_proto_runtime_v1_appcallback } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";
import { file_spec_proto_runtime_v1_lifecycle } from "@ottavo/generated/spec/proto/runtime/v1/lifecycle_pb";
import { file_spec_proto_runtime_v1_runtime, Runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { join } from "node:path";
import { loadFixtureCodecs, type LoadedCodecs } from "./fixture-codecs";
import { compareEncode, roundTrip } from "./codec-oracle";
import { randomInit, Rng } from "./random-messages";

/**
 * Every generated codec against protobuf-es: the same bytes out for random
 * messages, the same messages back from those bytes and from the other legal
 * encodings of them. generated/codecs (what ships) and the codecs target's own
 * fixture (every field shape protobuf-es encodes).
 */
const specFiles = [file_spec_proto_runtime_v1_runtime, file_spec_proto_runtime_v1_appcallback, file_spec_proto_runtime_v1_lifecycle];
const registry = createRegistry(...specFiles, file_google_protobuf_any, file_google_protobuf_empty);

function schemaOf(typeName: string): DescMessage {
  const desc = registry.getMessage(typeName);
  if (!desc) throw new Error(`${typeName} is not a message of spec/proto`);
  return desc;
}

describe("generated/codecs", () => {
  it("has a codec for the request and response of every unary Runtime rpc", () => {
    for (const method of Runtime.methods) {
      if (method.methodKind !== "unary") continue;
      expect(codecs[method.input.typeName]?.typeName).toBe(method.input.typeName);
      expect(codecs[method.output.typeName]?.typeName).toBe(method.output.typeName);
    }
  });

  it("each encode returns bytes of its own: later encodes, larger than the scratch buffer or not, leave them as they were", () => {
    const schema = schemaOf("spec.proto.runtime.v1.GetStateResponse");
    const codec = codecs[schema.typeName];
    const inits = [
      { data: Uint8Array.from({ length: 100 }, (_, i) => i), etag: "1" },
      { data: new Uint8Array(3 << 20).fill(7), etag: "2", metadata: { a: "b".repeat(70_000) } },
      { etag: "3" },
      { data: new Uint8Array(20_000).fill(9), metadata: { k: "v" } },
    ];
    const encoded = inits.map((init) => codec.encode(init));
    inits.forEach((init, i) => expect(Buffer.from(encoded[i]).equals(toBinary(schema, create(schema, init)))).toBe(true));
  });

  it("encodeFramed gives encode's bytes as one gRPC frame (zero flag, big-endian length), for every codec", () => {
    const rng = new Rng(4242);
    for (const typeName of Object.keys(codecs)) {
      const schema = schemaOf(typeName);
      const codec = codecs[typeName];
      for (const init of [{}, randomInit(rng, schema)]) {
        const bytes = Buffer.from(codec.encode(init));
        const header = Buffer.alloc(5);
        header.writeUInt32BE(bytes.length, 1);
        expect(Buffer.from(codec.encodeFramed!(init)).equals(Buffer.concat([header, bytes]))).toBe(true);
      }
    }
  });

  it.each(Object.keys(codecs))("%s agrees with protobuf-es on random messages", (typeName) => {
    const { mismatches } = roundTrip(new Rng(typeName.length * 7919), codecs[typeName], schemaOf(typeName), 50);
    expect(mismatches.slice(0, 3)).toEqual([]);
  });
});

describe("codecs of every field shape (fixture)", () => {
  let fixture: LoadedCodecs;
  beforeAll(() => {
    fixture = loadFixtureCodecs(join(__dirname, "..", "fixtures", "codecs"));
  });
  afterAll(() => fixture.dispose());

  it("covers the messages of unary rpcs only, and leaves a wrapper-typed field to protobuf-es", () => {
    expect(Object.keys(fixture.codecs).sort()).toEqual([
      "google.protobuf.Any",
      "google.protobuf.Empty",
      "spec.proto.codecs.v1.AllScalars",
      "spec.proto.codecs.v1.Inner",
      "spec.proto.codecs.v1.Outer",
    ]);
  });

  it.each(["google.protobuf.Any", "google.protobuf.Empty", "spec.proto.codecs.v1.AllScalars", "spec.proto.codecs.v1.Inner", "spec.proto.codecs.v1.Outer"])(
    "%s agrees with protobuf-es on random messages",
    (typeName) => {
      const { mismatches } = roundTrip(new Rng(typeName.length * 104729), fixture.codecs[typeName], fixture.schema(typeName), 150);
      expect(mismatches.slice(0, 3)).toEqual([]);
    },
  );

  // Handlers are typed, but what create() accepts beyond the types is accepted alike (or refused alike).
  it.each([
    ["bytes as arrays of numbers", { by: [1, 2, 300], rby: [[1, 2], []], ri32: [] }],
    ["empty bytes as an empty array", { by: [] }],
    ["32-bit integers and floats as decimal text", { i32: "-7", u32: "4000000000", si32: "-3", f32: "9", sf32: "-9", f: "1.5", d: "2.5", ri32: ["200", "-1"] }],
    ["NaN as text", { f: "NaN" }],
    ["64-bit integers as numbers, text or bigint", { i64: 5, u64: "18446744073709551615", si64: -3, f64: 7, sf64: "-8", i64s: 42, u64s: 12n, si64s: -5, ri64s: [1, "2", 3n] }],
    ["a 64-bit zero as text", { i64: "0", i64s: "0" }],
    ["an int32 that is not an integer", { i32: 1.5 }],
    ["an int32 out of range", { i32: 2 ** 31 }],
    ["a uint32 below zero", { u32: -1 }],
    ["an int32 that is not a number", { i32: "abc" }],
    ["a float out of range", { f: 1e39 }],
    ["a float that is not a number", { f: "x" }],
    ["an int64 out of range", { i64s: "9223372036854775808" }],
    ["an int64 that is not an integer", { i64: 1.5 }],
    ["a uint64 below zero", { u64: -1 }],
  ])("AllScalars with %s", (_, init) => {
    const typeName = "spec.proto.codecs.v1.AllScalars";
    expect(compareEncode(fixture.codecs[typeName], fixture.schema(typeName), init, "encode of a loosely typed init")).toBeUndefined();
  });

  it("a map of bytes takes arrays of numbers as create() does", () => {
    const typeName = "spec.proto.codecs.v1.Outer";
    expect(compareEncode(fixture.codecs[typeName], fixture.schema(typeName), { bb: { true: [1, 2], false: [] } }, "encode of a loosely typed init")).toBeUndefined();
  });
});
