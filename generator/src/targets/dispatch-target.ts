import type { DescService } from "@bufbuild/protobuf";
import type { GeneratedFile, Schema } from "@bufbuild/protoplugin";
import type { Target } from "./target";
import { runTsTarget } from "./es-plugin";
import { camelCase } from "./ts-names";

const dispatchFile = "server/unary-dispatch.ts";

/**
 * The gRPC fast path's dispatch tables: per service, a map from the HTTP/2 path
 * of each unary rpc ("/package.Service/Method") to its method descriptor (which
 * carries the request and response schemas the codecs need) and a direct call
 * of its handler. The kernel's fast path looks a stream's :path up once and runs
 * decode, handler, encode with no router and no per-call closures.
 */
export const dispatchTarget: Target = {
  name: "dispatch",
  generate: (spec) => {
    const services = spec.protos.files.flatMap((file) => file.services).filter((s) => unaryMethods(s).length > 0);
    if (services.length === 0) return [];
    return runTsTarget(
      spec,
      "dispatch",
      (schema: Schema) => {
        const f = schema.generateFile(dispatchFile);
        printDispatchEntry(f);
        for (const service of services) printServiceTable(f, service);
      },
      () => services.map((s) => s.file.proto.name).filter((n, i, all) => all.indexOf(n) === i).join(", "),
    );
  },
};

function unaryMethods(service: DescService) {
  return service.methods.filter((m) => m.methodKind === "unary");
}

function printDispatchEntry(f: GeneratedFile): void {
  const DescMethodUnary = f.import("DescMethodUnary", "@bufbuild/protobuf", true);
  const HandlerContext = f.import("HandlerContext", "@connectrpc/connect", true);
  const Message = f.import("Message", "@bufbuild/protobuf", true);
  f.print(f.jsDoc("One unary rpc as the gRPC fast path runs it."));
  f.print(f.export("interface", "UnaryDispatch"), " {");
  f.print("  /** The rpc: its name, service, and request and response schemas. */");
  f.print("  readonly method: ", DescMethodUnary, ";");
  f.print("  /** Calls the rpc's handler with a decoded request; resolves with what it answers (a message or its init shape). */");
  f.print("  call(request: ", Message, ", context: ", HandlerContext, "): Promise<object> | object;");
  f.print("}");
}

function printServiceTable(f: GeneratedFile, service: DescService): void {
  const ServiceImpl = f.import("ServiceImpl", "@connectrpc/connect", true);
  const serviceDesc = f.importSchema(service);
  f.print();
  f.print(f.jsDoc(`The unary rpcs of ${service.name} by HTTP/2 path, calling the given implementation.`));
  f.print(
    f.export("function", `${camelCase(service.name)}UnaryDispatch`),
    "(impl: ",
    ServiceImpl,
    "<typeof ",
    serviceDesc,
    ">): ReadonlyMap<string, UnaryDispatch> {",
  );
  f.print("  return new Map<string, UnaryDispatch>([");
  for (const m of unaryMethods(service)) {
    const input = f.importShape(m.input);
    f.print(
      `    ["/${service.typeName}/${m.name}", { method: `,
      serviceDesc,
      `.method.${m.localName}, call: (request: `,
      input,
      ", context) => impl.",
      m.localName,
      "(request, context) }],",
    );
  }
  f.print("  ]);");
  f.print("}");
}
