/**
 * The reference for the physical limit of a unary gRPC call in Node on this
 * machine: node:http2's stream API with gRPC framed by hand, answering SayHello
 * and GetState from a Map, with protobuf-es for the messages (the codec the
 * runtime uses) and nothing else: no router, no context, no pipeline, no
 * deadlines. Started as a child process by main.ts; prints "port <n>" once
 * listening; runs until its stdin closes.
 *
 * With a Redis port as its argument, GetState reads the key's hash with one
 * HMGET through ioredis (the client the runtime's Redis store uses): the least a
 * Node server can do to answer GetState from Redis, so the runtime's cost on Redis
 * can be read against it in the same run.
 */
import * as http2 from "node:http2";
import Redis from "ioredis";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  GetStateRequestSchema,
  GetStateResponseSchema,
  SayHelloRequestSchema,
  SayHelloResponseSchema,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";

const store = new Map<string, Uint8Array>();
const empty = new Uint8Array(0);

const answers: Record<string, (body: Uint8Array) => Uint8Array> = {
  "/spec.proto.runtime.v1.Runtime/SayHello": (body) => {
    const request = fromBinary(SayHelloRequestSchema, body);
    return toBinary(SayHelloResponseSchema, create(SayHelloResponseSchema, { hello: `greetings, ${request.name}` }));
  },
  "/spec.proto.runtime.v1.Runtime/GetState": (body) => {
    const request = fromBinary(GetStateRequestSchema, body);
    return toBinary(GetStateResponseSchema, create(GetStateResponseSchema, { data: store.get(request.key) ?? empty }));
  },
};

const redisPort = process.argv[2];
const redis = redisPort === undefined ? undefined : new Redis({ host: "127.0.0.1", port: Number(redisPort) });
const redisAnswers: Record<string, (body: Uint8Array) => Promise<Uint8Array>> = {
  "/spec.proto.runtime.v1.Runtime/GetState": async (body) => {
    const request = fromBinary(GetStateRequestSchema, body);
    const [data, etag] = await redis!.hmgetBuffer(request.key, "data", "version");
    return toBinary(GetStateResponseSchema, create(GetStateResponseSchema, { data: data ?? empty, etag: etag?.toString() ?? "" }));
  },
};

function reply(stream: http2.ServerHttp2Stream, body: Uint8Array): void {
  // A load generator cancels what is in flight when its run ends; Redis may answer after that.
  if (stream.destroyed || stream.closed) return;
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = 0;
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(frame);
}

const server = http2.createServer();
server.on("stream", (stream, headers) => {
  const path = headers[":path"] ?? "";
  const answer = redis === undefined ? answers[path] : undefined;
  const redisAnswer = redis === undefined ? undefined : redisAnswers[path];
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("error", () => undefined);
  stream.on("end", () => {
    const body = Buffer.concat(chunks).subarray(5);
    if (answer !== undefined) return reply(stream, answer(body));
    if (redisAnswer !== undefined) {
      return void redisAnswer(body).then(
        (bytes) => reply(stream, bytes),
        () => {
          if (!stream.destroyed && !stream.closed) stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "14" }, { endStream: true });
        },
      );
    }
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true });
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`port ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
