import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { GeneratedFile, Schema } from "@bufbuild/protoplugin";
import type { Capability } from "../idl";
import type { Target } from "./target";
import { runTsTarget } from "./es-plugin";
import { printDoc } from "./components-target";
import { handlerSignature, protoDoc } from "./rpc-signatures";
import { camelCase, fileStem, pascalCase } from "./ts-names";

/** The group of rpcs no capability serves; the kernel answers them itself. */
const kernelGroup = "kernel";

/**
 * Per service: the handler contract, one interface per capability that serves some
 * of its rpcs (bound through the IDL's `serves`) plus one for the rest, and a
 * function that routes Connect's ServiceImpl to those groups. A spec change that
 * adds or moves an rpc shows up as a type error in the kernel's handler groups.
 */
export const serverTarget: Target = {
  name: "server",
  generate: (spec) =>
    runTsTarget(
      spec,
      "server",
      (schema: Schema) => {
        for (const file of spec.protos.files) {
          for (const service of file.services) {
            const f = schema.generateFile(`server/${fileStem(kebab(service.name))}-handlers.ts`);
            printService(f, service, spec.idl.capabilities);
          }
        }
      },
      (fileName) => spec.protos.files.find((file) => file.services.some((s) => fileName === `server/${fileStem(kebab(s.name))}-handlers.ts`))!.proto.name,
    ),
};

function printService(f: GeneratedFile, service: DescService, capabilities: readonly Capability[]): void {
  const owner = new Map<string, Capability>();
  for (const c of capabilities) {
    for (const served of c.serves) {
      if (served.service.typeName === service.typeName) owner.set(served.method.name, c);
    }
  }
  const groupOf = (m: DescMethod) => owner.get(m.name)?.name ?? kernelGroup;
  const groups = [...new Set(service.methods.map(groupOf))].sort((a, b) =>
    a === kernelGroup ? 1 : b === kernelGroup ? -1 : a < b ? -1 : 1,
  );
  const ServiceImpl = f.import("ServiceImpl", "@connectrpc/connect", true);
  const serviceDesc = f.importSchema(service);
  const implName = `${camelCase(service.name)}ServiceImpl`;

  if (owner.size === 0) {
    // No capability serves this service: one interface with every rpc.
    printGroup(f, `${service.name}Handlers`, service.methods, protoDoc(service) || `The rpcs of ${service.name}.`);
    f.print();
    f.print(f.jsDoc(`Connect's implementation of ${service.name} from its handlers.`));
    f.print(f.export("function", implName), `(handlers: ${service.name}Handlers): `, ServiceImpl, "<typeof ", serviceDesc, "> {");
    printRouting(f, service.methods, () => "handlers");
    f.print("}");
    return;
  }

  for (const group of groups) {
    const methods = service.methods.filter((m) => groupOf(m) === group);
    const capability = capabilities.find((c) => c.name === group);
    const doc = capability
      ? `The ${service.name} rpcs served by ${capability.name} components (${capability.interfaceName}).`
      : `The ${service.name} rpcs no capability serves; the kernel answers them itself.`;
    printGroup(f, groupInterface(service, group), methods, doc);
    f.print();
  }
  f.print(f.jsDoc(`The handler groups of a ${service.name} server: one per capability that serves its rpcs.`));
  f.print(f.export("interface", `${service.name}HandlerGroups`), " {");
  for (const group of groups) f.print("  ", group, ": ", groupInterface(service, group), ";");
  f.print("}");
  f.print();
  f.print(f.jsDoc(`Which handler group serves each ${service.name} rpc.`));
  f.print(f.export("const", `${camelCase(service.name)}RpcGroups`), " = {");
  for (const m of service.methods) f.print("  ", m.localName, `: "${groupOf(m)}",`);
  f.print("} as const satisfies Record<keyof ", ServiceImpl, "<typeof ", serviceDesc, `>, keyof ${service.name}HandlerGroups>;`);
  f.print();
  f.print(f.jsDoc(`Connect's implementation of ${service.name}, routing each rpc to the group that serves it.`));
  f.print(f.export("function", implName), `(groups: ${service.name}HandlerGroups): `, ServiceImpl, "<typeof ", serviceDesc, "> {");
  printRouting(f, service.methods, (m) => `groups.${groupOf(m)}`);
  f.print("}");
}

function printGroup(f: GeneratedFile, name: string, methods: readonly DescMethod[], doc: string): void {
  printDoc(f, doc);
  f.print(f.export("interface", name), " {");
  for (const m of methods) {
    printDoc(f, protoDoc(m), "  ");
    f.print("  ", m.localName, ...handlerSignature(f, m), ";");
  }
  f.print("}");
}

function printRouting(f: GeneratedFile, methods: readonly DescMethod[], target: (m: DescMethod) => string): void {
  f.print("  return {");
  for (const m of methods) {
    const arg = m.methodKind === "unary" || m.methodKind === "server_streaming" ? "request" : "requests";
    f.print("    ", m.localName, ": (", arg, ", context) => ", target(m), ".", m.localName, "(", arg, ", context),");
  }
  f.print("  };");
}

function groupInterface(service: DescService, group: string): string {
  return `${service.name}${pascalCase(group)}Rpcs`;
}

/** "AppCallback" -> "app-callback". */
function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}
