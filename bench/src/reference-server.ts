/**
 * The reference for the physical limit of a unary gRPC call in Node on this
 * machine: node:http2's stream API with gRPC framed by hand, answering SayHello
 * and GetState from a Map, with the generated codecs the runtime's fast path uses
 * (generated/codecs) and nothing else: no router, no context, no pipeline, no
 * deadlines, no checks. It does what a Node server cannot leave out, the cheapest
 * way node:http2 allows, as the runtime's fast path does it: listeners and header
 * objects shared by every stream; response headers and options that spare
 * node:http2 a hidden class and a Date per answer; the renewal of node:http2's
 * stream map, without which most of a call's objects are promoted. So "the
 * runtime ÷ the reference" is what the runtime adds. Started as a child process
 * by main.ts; prints "port <n>" once listening; runs until its stdin closes.
 *
 * With a Redis port as its argument, GetState reads the key's hash with one
 * HMGET through ioredis (the client the runtime's Redis store uses): the least a
 * Node server can do to answer GetState from Redis, so the runtime's cost on Redis
 * can be read against it in the same run.
 */
import * as http2 from "node:http2";
import Redis from "ioredis";
import { streamMapRenewal } from "@ottavo/runtime-kernel/dist/server/stream-map-renewal";
import { awaitTrailers, okHeadersNow } from "@ottavo/runtime-kernel/dist/server/grpc/response-headers";
import { codecFor } from "@ottavo/generated/codecs/index";
import {
  GetStateRequestSchema,
  GetStateResponseSchema,
  SayHelloRequestSchema,
  SayHelloResponseSchema,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";

const store = new Map<string, Uint8Array>();
const empty = new Uint8Array(0);

const getStateRequest = codecFor(GetStateRequestSchema)!;
const getStateResponse = codecFor(GetStateResponseSchema)!;
const sayHelloRequest = codecFor(SayHelloRequestSchema)!;
const sayHelloResponse = codecFor(SayHelloResponseSchema)!;

const answers: Record<string, (body: Uint8Array) => Uint8Array> = {
  "/spec.proto.runtime.v1.Runtime/SayHello": (body) =>
    sayHelloResponse.encode({ hello: `greetings, ${sayHelloRequest.decode(body).name}` }),
  "/spec.proto.runtime.v1.Runtime/GetState": (body) =>
    getStateResponse.encode({ data: store.get(getStateRequest.decode(body).key) ?? empty }),
};

const redisPort = process.argv[2];
const redis = redisPort === undefined ? undefined : new Redis({ host: "127.0.0.1", port: Number(redisPort) });
const redisAnswers: Record<string, (body: Uint8Array) => Promise<Uint8Array>> = {
  "/spec.proto.runtime.v1.Runtime/GetState": async (body) => {
    const [data, etag] = await redis!.hmgetBuffer(getStateRequest.decode(body).key, "data", "version");
    return getStateResponse.encode({ data: data ?? empty, etag: etag?.toString("latin1") ?? "" });
  },
};

const okTrailers: http2.OutgoingHttpHeaders = { "grpc-status": "0" };
const unimplemented: http2.OutgoingHttpHeaders = { ":status": 200, "content-type": "application/grpc", "grpc-status": "12" };
const unavailable: http2.OutgoingHttpHeaders = { ":status": 200, "content-type": "application/grpc", "grpc-status": "14" };
const endStream = { endStream: true };

/** What a stream carries while its request arrives; the listeners below are shared by every stream. */
type CallStream = http2.ServerHttp2Stream & { path: string; body: Buffer | undefined; more: Buffer[] | undefined };

function reply(stream: http2.ServerHttp2Stream, body: Uint8Array): void {
  // A load generator cancels what is in flight when its run ends; Redis may answer after that.
  if (stream.destroyed || stream.closed) return;
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = 0;
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  stream.respond(okHeadersNow(), awaitTrailers);
  stream.end(frame);
}

function fail(stream: http2.ServerHttp2Stream, headers: http2.OutgoingHttpHeaders): void {
  if (!stream.destroyed && !stream.closed) stream.respond(headers, endStream);
}

function onData(this: CallStream, chunk: Buffer): void {
  if (this.body === undefined) this.body = chunk;
  else (this.more ??= [this.body]).push(chunk);
}

function onEnd(this: CallStream): void {
  const body = (this.more === undefined ? this.body ?? empty : Buffer.concat(this.more)).subarray(5);
  const answer = redis === undefined ? answers[this.path] : undefined;
  if (answer !== undefined) return reply(this, answer(body));
  const redisAnswer = redis === undefined ? undefined : redisAnswers[this.path];
  if (redisAnswer === undefined) return fail(this, unimplemented);
  redisAnswer(body).then(
    (bytes) => reply(this, bytes),
    () => fail(this, unavailable),
  );
}

function onWantTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(okTrailers);
}

function ignore(): void {}

const server = http2.createServer();
server.on("session", (session) => session.on("stream", streamMapRenewal(session)));
server.on("stream", (stream, headers) => {
  const call = stream as CallStream;
  call.path = headers[":path"] ?? "";
  call.body = undefined;
  call.more = undefined;
  stream.on("data", onData);
  stream.on("end", onEnd);
  stream.on("wantTrailers", onWantTrailers);
  stream.on("error", ignore);
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`port ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
