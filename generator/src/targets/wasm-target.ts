import type { DescService } from "@bufbuild/protobuf";
import type { Schema } from "@bufbuild/protoplugin";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { withHeader, type OutputFile } from "../output/output-file";
import type { Target } from "./target";
import { runTsTarget } from "./es-plugin";
import { asGuestFiles } from "./wasm-as-guest";
import { goGuestFiles } from "./wasm-go-guest";
import { hostTableFile, printHostTable } from "./wasm-host-table";
import { guestTypeName, wasmAbi, wasmAbiModule, wasmAbiVersion, wasmGuestExports, type WasmAbi } from "./wasm-abi";

const source = "generator/src/targets/wasm-target.ts";

/**
 * The WebAssembly ABI, from the spec: the host's import table (generated/wasm/), the
 * guest SDKs' messages and typed calls (sdks/wasm/go, sdks/wasm/assemblyscript) and
 * the ABI reference (docs/api/wasm.md).
 */
export const wasmTarget: Target = {
  name: "wasm",
  generate(spec) {
    const abi = wasmAbi(spec);
    if (abi.imports.length === 0) return [];
    const services = [...new Map(abi.imports.map((i) => [i.service.typeName, i.service])).values()];
    const host = runTsTarget(
      spec,
      "wasm",
      (schema: Schema) => {
        for (const service of services) printHostTable(schema.generateFile(hostTableFile(service)), service, abi);
      },
      (fileName) => services.find((s) => hostTableFile(s) === fileName)!.file.proto.name,
    );
    return [...host, ...goGuestFiles(abi, source), ...asGuestFiles(abi, source), abiDoc(abi, services)];
  },
};

/** Codes a guest meets, with what they mean at this boundary. */
const statuses = [
  { code: 0, name: "OK", when: "the call succeeded; the response is the rpc's response message" },
  { code: 3, name: "INVALID_ARGUMENT", when: "as the rpc answers it (an unknown component, a bad field); also a request that does not decode" },
  { code: 4, name: "DEADLINE_EXCEEDED", when: "the invocation ran past its CPU-time limit (the instance was replaced)" },
  { code: 7, name: "PERMISSION_DENIED", when: "as the rpc answers it" },
  { code: 8, name: "RESOURCE_EXHAUSTED", when: "a request or response is larger than the function's buffer cap; no free instance in time" },
  { code: 11, name: "OUT_OF_RANGE", when: "a pointer or length outside the guest's memory; nothing was read or written" },
  { code: 12, name: "UNIMPLEMENTED", when: "as the rpc answers it" },
  { code: 13, name: "INTERNAL", when: "a trap in the guest, or a host failure" },
  { code: 14, name: "UNAVAILABLE", when: "the backend is unreachable, as the rpc answers it" },
];

function abiDoc(abi: WasmAbi, services: readonly DescService[]): OutputFile {
  const hbs = Handlebars.create();
  hbs.registerHelper("cell", (text: unknown) => new Handlebars.SafeString(String(text ?? "").replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ")));
  const template = hbs.compile(readFileSync(join(__dirname, "..", "..", "templates", "wasm.md.hbs"), "utf8"), { noEscape: true, strict: true });
  const view = {
    module: wasmAbiModule,
    version: wasmAbiVersion,
    alloc: wasmGuestExports.alloc,
    handle: wasmGuestExports.handle,
    invocationInput: abi.invocation ? abi.invocation.input.typeName : "(none)",
    invocationOutput: abi.invocation ? abi.invocation.output.typeName : "(none)",
    topicEvent: abi.topicEvent
      ? { rpc: `${abi.topicEvent.method.parent.name}.${abi.topicEvent.method.name}`, method: abi.topicEvent.method.name, input: abi.topicEvent.input.typeName, output: abi.topicEvent.output.typeName }
      : false,
    imports: abi.imports.map((i) => ({
      name: i.name,
      service: i.service.name,
      rpc: i.method.name,
      input: guestTypeName(i.method.input),
      output: guestTypeName(i.method.output),
      group: i.group,
    })),
    statuses,
  };
  return withHeader("docs/api/wasm.md", services.map((s) => s.file.proto.name).join(", "), template(view));
}
