import { create, toBinary } from "@bufbuild/protobuf";
import { GetStateRequestSchema, SaveStateRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { frameMessage, UnaryFrameReader } from "../../src/server/grpc/grpc-frames";
import { parseGrpcTimeout } from "../../src/server/grpc/grpc-timeout";
import { reflectionCodec } from "../../src/server/grpc/message-codecs";

/** A reader fed the bytes in the given chunk sizes; the first problem, or what finish() gives. */
function read(bytes: Uint8Array, max: number, chunkSizes: readonly number[] = [bytes.length]) {
  const reader = new UnaryFrameReader(max);
  let offset = 0;
  for (const size of chunkSizes) {
    if (offset >= bytes.length) break;
    const problem = reader.push(Buffer.from(bytes.subarray(offset, offset + Math.max(1, size))));
    if (problem) return problem;
    offset += Math.max(1, size);
  }
  if (offset < bytes.length) {
    const problem = reader.push(Buffer.from(bytes.subarray(offset)));
    if (problem) return problem;
  }
  const body = reader.finish();
  return body instanceof Uint8Array ? { compressed: reader.compressed, body } : body;
}

describe("gRPC framing of a unary request", () => {
  const body = toBinary(GetStateRequestSchema, create(GetStateRequestSchema, { storeName: "state_demo", key: "k" }));

  it("takes one message however the bytes are chunked", () => {
    const frame = frameMessage(body);
    for (const sizes of [[frame.length], [1, 1, 1, 1, 1, 100], [3, 4, 100], [5, 1, 1, 1, 1]]) {
      const message = read(frame, 1024, sizes);
      expect(message).toEqual({ compressed: false, body: Buffer.from(body) });
    }
  });

  it("refuses a too-large message from its header alone, before its body arrives", () => {
    const reader = new UnaryFrameReader(16);
    expect(reader.push(Buffer.from([0, 0, 0, 0, 17]))).toEqual({ kind: "too-large", length: 17 });
  });

  it("tells truncated, missing, extra and badly flagged messages apart", () => {
    const frame = frameMessage(body);
    expect(read(frame.subarray(0, 3), 1024)).toEqual({ kind: "truncated" });
    expect(read(frame.subarray(0, frame.length - 1), 1024)).toEqual({ kind: "truncated" });
    expect(read(new Uint8Array(0), 1024)).toEqual({ kind: "no-message" });
    expect(read(Buffer.concat([frame, frameMessage(body)]), 1024)).toEqual({ kind: "extra-message" });
    expect(read(Buffer.from([0x80, 0, 0, 0, 0]), 1024)).toEqual({ kind: "bad-flag", flag: 0x80 });
    expect(read(Buffer.from([2, 0, 0, 0, 0]), 1024)).toEqual({ kind: "bad-flag", flag: 2 });
  });

  it("reads grpc-timeout in every unit and refuses malformed ones", () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    expect([parseGrpcTimeout("2H"), parseGrpcTimeout("3M"), parseGrpcTimeout("4S"), parseGrpcTimeout("50m")]).toEqual([7_200_000, 180_000, 4_000, 50]);
    expect(parseGrpcTimeout("1500u")).toBeCloseTo(1.5);
    expect(parseGrpcTimeout("2000000n")).toBeCloseTo(2);
    for (const bad of ["", "m", "10", "123456789S", "1.5S", "-1S", "10x"]) expect(parseGrpcTimeout(bad)).toBeNaN();
  });

  it("survives 100,000 mutated requests: each is a message or a named problem, and decoding only ever throws an Error", () => {
    const codec = reflectionCodec(SaveStateRequestSchema);
    const valid = frameMessage(
      toBinary(
        SaveStateRequestSchema,
        create(SaveStateRequestSchema, {
          storeName: "state_demo",
          states: [{ key: "k", value: new Uint8Array([1, 2, 3]), etag: { value: "1" }, metadata: { ttlInSeconds: "10" } }],
        }),
      ),
    );
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const outcomes = { message: 0, problem: 0, decoded: 0, refusedByDecoder: 0 };
    for (let i = 0; i < 100_000; i++) {
      const bytes = Buffer.from(valid.subarray(0, random(valid.length + 8)));
      for (let flips = random(5); flips > 0 && bytes.length > 0; flips--) bytes[random(bytes.length)] = random(256);
      const result = read(bytes, 64, [random(8), random(8), random(16)]);
      if (!("body" in result)) {
        outcomes.problem++;
        continue;
      }
      outcomes.message++;
      try {
        codec.decode(result.body);
        outcomes.decoded++;
      } catch (error) {
        // An Error of any kind (a TypeError for invalid UTF-8 comes from Node's realm, not jest's).
        expect(Object.prototype.toString.call(error)).toBe("[object Error]");
        outcomes.refusedByDecoder++;
      }
    }
    expect(outcomes.message + outcomes.problem).toBe(100_000);
    // The mutations reach every outcome, so the test exercises each path.
    for (const count of Object.values(outcomes)) expect(count).toBeGreaterThan(100);
  });
});
