/**
 * The script of the page the browser test serves (bundled by esbuild): what a web
 * app does with Ottavo's generated client over connect-web's gRPC-Web and Connect
 * transports, and with Google's grpc-web client in its default text mode.
 * `runCalls(apiUrl, protocol)` saves and reads state and reads a server stream,
 * and answers what it saw (or the error) as plain data.
 */
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { createRuntimeClient } from "@ottavo/generated/client/runtime-client";
import { Runtime } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { GrpcWebClientBase, MethodDescriptor } from "grpc-web";

export type Protocol = "grpc-web" | "connect" | "grpc-web-text";

export interface Outcome {
  readonly saved?: boolean;
  readonly read?: string;
  readonly etag?: string;
  /** Sizes of the GetFile stream's messages, in order. */
  readonly chunks?: number[];
  readonly error?: string;
}

async function runCalls(apiUrl: string, protocol: Protocol, key: string): Promise<Outcome> {
  try {
    return protocol === "grpc-web-text" ? await withGrpcWebText(apiUrl, key) : await withConnectWeb(apiUrl, protocol, key);
  } catch (error) {
    return { error: String(error) };
  }
}

async function withConnectWeb(baseUrl: string, protocol: "grpc-web" | "connect", key: string): Promise<Outcome> {
  const transport = protocol === "grpc-web" ? createGrpcWebTransport({ baseUrl }) : createConnectTransport({ baseUrl });
  const runtime = createRuntimeClient(transport);
  await runtime.saveState({ storeName: "state_demo", states: [{ key, value: new TextEncoder().encode(`from ${protocol}`) }] });
  const got = await runtime.getState({ storeName: "state_demo", key });
  const chunks: number[] = [];
  for await (const chunk of runtime.getFile({ storeName: "file_demo", name: "big.bin" })) chunks.push(chunk.data.length);
  return { saved: true, read: new TextDecoder().decode(got.data), etag: got.etag, chunks };
}

/** Google's grpc-web client with protobuf-es doing the (de)serialising, as its generated stubs would. */
async function withGrpcWebText(baseUrl: string, key: string): Promise<Outcome> {
  const client = new GrpcWebClientBase({ format: "text" });
  const method = <I extends DescMessage, O extends DescMessage>(name: string, kind: "unary" | "server_streaming", input: I, output: O) =>
    new MethodDescriptor<MessageShape<I>, MessageShape<O>>(
      `/${Runtime.typeName}/${name}`,
      kind,
      Object as never,
      Object as never,
      (request: MessageShape<I>) => toBinary(input, request),
      (bytes: Uint8Array) => fromBinary(output, bytes),
    );
  const m = Runtime.method;
  const save = method("SaveState", "unary", m.saveState.input, m.saveState.output);
  const get = method("GetState", "unary", m.getState.input, m.getState.output);
  const file = method("GetFile", "server_streaming", m.getFile.input, m.getFile.output);
  const url = (d: { getName(): string }) => baseUrl + d.getName();
  const value = new TextEncoder().encode("from grpc-web-text");
  await client.unaryCall(url(save), create(m.saveState.input, { storeName: "state_demo", states: [{ key, value }] }), {}, save);
  const got = await client.unaryCall(url(get), create(m.getState.input, { storeName: "state_demo", key }), {}, get);
  const chunks = await new Promise<number[]>((resolve, reject) => {
    const sizes: number[] = [];
    client
      .serverStreaming(url(file), create(m.getFile.input, { storeName: "file_demo", name: "big.bin" }), {}, file)
      .on("data", (chunk) => sizes.push(chunk.data.length))
      .on("error", (error) => reject(new Error(`${error.code}: ${error.message}`)))
      .on("end", () => resolve(sizes));
  });
  return { saved: true, read: new TextDecoder().decode(got.data), etag: got.etag, chunks };
}

(globalThis as unknown as { runCalls: typeof runCalls }).runCalls = runCalls;
