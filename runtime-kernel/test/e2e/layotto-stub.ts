import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import * as path from "node:path";

/**
 * A raw grpc-js client of spec.proto.runtime.v1.Runtime built at run time with
 * proto-loader from the .proto files the published `layotto` package ships:
 * wire compatibility judged against Layotto's own definitions (names, field
 * numbers, streaming shapes), never against Ottavo's copies.
 */
export const layottoRuntimeProto = path.join(
  path.dirname(require.resolve("layotto/package.json")),
  "proto",
  "runtime",
  "v1",
  "runtime.proto",
);

/** Messages as plain objects: field names as in the .proto, int64 as decimal strings, enums by name. */
const definition = protoLoader.loadSync(layottoRuntimeProto, { keepCase: true, longs: String, enums: String, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  spec: { proto: { runtime: { v1: { Runtime: grpc.ServiceClientConstructor } } } };
};

export type Message = Record<string, unknown>;
type UnaryMethod = (request: Message, callback: (error: grpc.ServiceError | null, response: Message) => void) => void;

/** The dynamic client: one method per rpc, named as in the .proto (SayHello, GetState, ...). */
export interface RuntimeStub extends grpc.Client {
  [rpc: string]: unknown;
}

export function layottoStub(port: number, options?: grpc.ChannelOptions): RuntimeStub {
  return new loaded.spec.proto.runtime.v1.Runtime(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options) as RuntimeStub;
}

/** One unary call; resolves with the response or rejects with grpc-js's ServiceError. */
export function unary(stub: RuntimeStub, rpc: string, request: Message): Promise<Message> {
  const method = stub[rpc] as UnaryMethod | undefined;
  if (typeof method !== "function") throw new Error(`layotto's runtime.proto has no rpc ${rpc}`);
  return new Promise((resolve, reject) => method.call(stub, request, (error, response) => (error ? reject(error) : resolve(response))));
}

/** The ServiceError of a call that must fail. */
export async function rejection(call: Promise<unknown>): Promise<grpc.ServiceError> {
  const outcome = await call.then(
    () => new Error("the call succeeded; expected a gRPC error"),
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error) || !("code" in outcome)) throw outcome;
  return outcome as grpc.ServiceError;
}
