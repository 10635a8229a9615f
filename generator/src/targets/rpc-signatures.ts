import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { getComments, type GeneratedFile, type Printable } from "@bufbuild/protoplugin";

/** The documentation of a proto element: its leading comment, as written in spec/. */
export function protoDoc(desc: DescService | DescMethod): string {
  return (getComments(desc).leading ?? "").trim().replace(/^ /gm, "");
}

/** The server-side signature of an rpc, as Connect's ServiceImpl expects it (async throughout). */
export function handlerSignature(f: GeneratedFile, method: DescMethod): Printable[] {
  const input = f.importShape(method.input);
  const init = f.import("MessageInitShape", "@bufbuild/protobuf", true);
  const out: Printable[] = [init, "<typeof ", f.importSchema(method.output, true), ">"];
  const ctx = f.import("HandlerContext", "@connectrpc/connect", true);
  switch (method.methodKind) {
    case "unary":
      return ["(request: ", input, ", context: ", ctx, "): Promise<", ...out, ">"];
    case "server_streaming":
      return ["(request: ", input, ", context: ", ctx, "): AsyncIterable<", ...out, ">"];
    case "client_streaming":
      return ["(requests: AsyncIterable<", input, ">, context: ", ctx, "): Promise<", ...out, ">"];
    case "bidi_streaming":
      return ["(requests: AsyncIterable<", input, ">, context: ", ctx, "): AsyncIterable<", ...out, ">"];
  }
}

/** The client-side signature of an rpc, as Connect's createClient builds it. */
export function clientSignature(f: GeneratedFile, method: DescMethod): Printable[] {
  const init = f.import("MessageInitShape", "@bufbuild/protobuf", true);
  const input = [init, "<typeof ", f.importSchema(method.input, true), ">"];
  const output = f.importShape(method.output);
  const options = f.import("CallOptions", "@connectrpc/connect", true);
  switch (method.methodKind) {
    case "unary":
      return ["(request: ", ...input, ", options?: ", options, "): Promise<", output, ">"];
    case "server_streaming":
      return ["(request: ", ...input, ", options?: ", options, "): AsyncIterable<", output, ">"];
    case "client_streaming":
      return ["(requests: AsyncIterable<", ...input, ">, options?: ", options, "): Promise<", output, ">"];
    case "bidi_streaming":
      return ["(requests: AsyncIterable<", ...input, ">, options?: ", options, "): AsyncIterable<", output, ">"];
  }
}
