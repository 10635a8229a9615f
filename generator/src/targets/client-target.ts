import type { DescService } from "@bufbuild/protobuf";
import type { GeneratedFile, Schema } from "@bufbuild/protoplugin";
import type { Target } from "./target";
import { runTsTarget } from "./es-plugin";
import { printDoc } from "./components-target";
import { clientSignature, protoDoc } from "./rpc-signatures";

/**
 * A typed client per service: an interface with every rpc documented from the
 * proto comments, created over any Connect transport (gRPC, gRPC-Web or Connect).
 */
export const clientTarget: Target = {
  name: "client",
  generate: (spec) =>
    runTsTarget(
      spec,
      "client",
      (schema: Schema) => {
        for (const file of spec.protos.files) {
          for (const service of file.services) printClient(schema.generateFile(clientFile(service)), service);
        }
      },
      (fileName) => spec.protos.files.find((file) => file.services.some((s) => clientFile(s) === fileName))!.proto.name,
    ),
};

function clientFile(service: DescService): string {
  return `client/${service.name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()}-client.ts`;
}

function printClient(f: GeneratedFile, service: DescService): void {
  const Transport = f.import("Transport", "@connectrpc/connect", true);
  const createClient = f.import("createClient", "@connectrpc/connect");
  printDoc(f, protoDoc(service));
  f.print(f.export("interface", `${service.name}Client`), " {");
  for (const m of service.methods) {
    printDoc(f, protoDoc(m), "  ");
    f.print("  ", m.localName, ...clientSignature(f, m), ";");
  }
  f.print("}");
  f.print();
  f.print(f.jsDoc(`Creates a ${service.name} client over a transport, e.g. createGrpcTransport or createConnectTransport from @connectrpc/connect-node.`));
  f.print(f.export("function", `create${service.name}Client`), "(transport: ", Transport, `): ${service.name}Client {`);
  f.print("  return ", createClient, "(", f.importSchema(service), ", transport);");
  f.print("}");
}
