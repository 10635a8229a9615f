import type { DescService } from "@bufbuild/protobuf";
import type { GeneratedFile } from "@bufbuild/protoplugin";
import { printDoc } from "./components-target";
import { protoDoc } from "./rpc-signatures";
import { fileStem, camelCase } from "./ts-names";
import { codecsDir } from "./codecs-target";
import { componentRuntime } from "./component-runtime";
import { wasmAbiModule, wasmAbiVersion, wasmGuestExports, wasmAbiExtraImports, type WasmAbi } from "./wasm-abi";

/** The host table's file for a service, relative to the TypeScript output root. */
export function hostTableFile(service: DescService): string {
  return `wasm/${fileStem(service.name.replace(/([a-z0-9])([A-Z])/g, "$1-$2"))}-abi.ts`;
}

/**
 * The host side of the ABI for one service: a table of host imports, each decoding
 * its request bytes with the rpc's schema, calling the handler the gRPC API uses and
 * encoding what it answers. The wasm host adds guest-memory access around it.
 */
export function printHostTable(f: GeneratedFile, service: DescService, abi: WasmAbi): void {
  const imports = abi.imports.filter((i) => i.service.typeName === service.typeName);
  const syncGroupsType = `${service.name}SyncHandlerGroups`;
  const groupsType = f.import(`${service.name}HandlerGroups`, `./server/${fileStem(service.name.replace(/([a-z0-9])([A-Z])/g, "$1-$2")).toLowerCase()}-handlers`, true);
  const HandlerContext = f.import("HandlerContext", "@connectrpc/connect", true);
  const fromBinary = f.import("fromBinary", "@bufbuild/protobuf");
  const toBinary = f.import("toBinary", "@bufbuild/protobuf");
  const create = f.import("create", "@bufbuild/protobuf");
  const codecFor = f.import("codecFor", `./${codecsDir}/index`);
  const MessageCodec = f.import("MessageCodec", componentRuntime, true);
  const DescMessage = f.import("DescMessage", "@bufbuild/protobuf", true);

  f.print(f.jsDoc(`The module every ottavo host import lives in.`));
  f.print(f.export("const", "wasmAbiModule"), ` = "${wasmAbiModule}";`);
  f.print();
  f.print(f.jsDoc(`The ABI version; a guest declares it by exporting \`ottavo_abi_version_${wasmAbiVersion}\`.`));
  f.print(f.export("const", "wasmAbiVersion"), ` = ${wasmAbiVersion};`);
  f.print();
  f.print(f.jsDoc("The exports a guest of this ABI provides: its allocator and its invocation entry point."));
  f.print(f.export("const", "wasmGuestExports"), " = {");
  f.print(`  alloc: "${wasmGuestExports.alloc}",`);
  f.print(`  handle: "${wasmGuestExports.handle}",`);
  f.print(`  version: "ottavo_abi_version_${wasmAbiVersion}",`);
  f.print("} as const;");
  f.print();
  f.print(f.jsDoc("Host imports of the ABI that are not rpcs: the invocation's answer, and a log line."));
  f.print(f.export("const", "wasmAbiExtraImports"), " = {");
  f.print(`  output: "${wasmAbiExtraImports.output}",`);
  f.print(`  log: "${wasmAbiExtraImports.log}",`);
  f.print("} as const;");
  f.print();
  f.print(f.jsDoc(`One host import: the rpc it calls, and the call itself, protobuf bytes in and out.`));
  f.print(f.export("interface", "WasmHostImport"), " {");
  f.print("  /** The import's name in module ottavo. */");
  f.print("  readonly name: string;");
  f.print("  /** The rpc, as the gRPC API names it. */");
  f.print("  readonly rpc: string;");
  f.print(`  /** The handler group that serves it. */`);
  f.print(`  readonly group: keyof `, groupsType, ";");
  f.print("  /** Decodes the request, calls the handler, encodes its answer; a handler's error rejects. */");
  f.print("  call(groups: ", groupsType, ", request: Uint8Array, context: ", HandlerContext, "): Promise<Uint8Array>;");
  f.print("  /**");
  f.print("   * The same with the rpc's synchronous handler, the same codecs: undefined when the groups");
  f.print("   * have no synchronous form of the rpc; a handler's error throws.");
  f.print("   */");
  f.print("  callSync(groups: ", syncGroupsType, ", request: Uint8Array, context: ", HandlerContext, "): Uint8Array | undefined;");
  f.print("}");
  f.print();
  f.print(
    f.jsDoc(
      `Handlers that answer at once, for a caller that cannot wait (a function instance on the main thread):
per group, the rpcs whose components can answer synchronously, each answering what its async form
resolves to. An rpc or group that is absent has no synchronous form.`,
    ),
  );
  f.print(f.export("type", syncGroupsType), " = {");
  f.print("  readonly [G in keyof ", groupsType, "]?: {");
  f.print("    readonly [R in keyof ", groupsType, "[G]]?: ", groupsType, "[G][R] extends (request: infer Q, context: infer C) => Promise<infer A> ? (request: Q, context: C) => A : never;");
  f.print("  };");
  f.print("};");
  f.print();
  f.print(f.jsDoc("The generated codec of a message (the gRPC fast path's), or protobuf-es's reflection where none is generated."));
  f.print("function codecOf<Desc extends ", DescMessage, ">(schema: Desc): ", MessageCodec, "<Desc> {");
  f.print("  return (");
  f.print("    ", codecFor, "(schema) ?? {");
  f.print("      typeName: schema.typeName,");
  f.print("      decode: (bytes) => ", fromBinary, "(schema, bytes),");
  f.print("      encode: (init) => ", toBinary, "(schema, ", create, "(schema, init)),");
  f.print("    }");
  f.print("  );");
  f.print("}");
  f.print();
  for (const i of imports) {
    f.print("const ", i.method.localName, "Codecs = { input: codecOf(", f.importSchema(i.method.input), "), output: codecOf(", f.importSchema(i.method.output), ") };");
  }
  f.print();
  printDoc(f, `The host imports of ${service.name}, one per unary rpc.\n\n${protoDoc(service)}`.trim());
  f.print(f.export("const", `${camelCase(service.name)}WasmImports`), ": readonly WasmHostImport[] = [");
  for (const i of imports) {
    const codecs = `${i.method.localName}Codecs`;
    f.print("  {");
    f.print(`    name: "${i.name}",`);
    f.print(`    rpc: "${i.method.name}",`);
    f.print(`    group: "${i.group}",`);
    f.print("    call: async (groups, request, context) =>");
    f.print("      ", codecs, ".output.encode(await groups.", i.group, ".", i.method.localName, "(", codecs, ".input.decode(request), context)),");
    f.print("    callSync: (groups, request, context) => {");
    f.print("      const group = groups.", i.group, ";");
    f.print("      if (group?.", i.method.localName, " === undefined) return undefined;");
    f.print("      return ", codecs, ".output.encode(group.", i.method.localName, "(", codecs, ".input.decode(request), context));");
    f.print("    },");
    f.print("  },");
  }
  f.print("];");
}
