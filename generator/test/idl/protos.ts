/** A tiny FileRegistry standing in for the runtime protos, built in memory (no proto compiler, so tests stay fast). */
import { create, createFileRegistry, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const emptyMessage = (name: string) => ({ name });

function runtimeProto(pkg: string) {
  const t = (name: string) => `.${pkg}.${name}`;
  return {
    name: `${pkg.replace(/\./g, "/")}/runtime.proto`,
    package: pkg,
    syntax: "proto3",
    messageType: [
      emptyMessage("GetStateRequest"),
      emptyMessage("GetStateResponse"),
      emptyMessage("SaveStateRequest"),
      { name: "StateOptions", field: [{ name: "concurrency", number: 1, type: 9 /* string */, label: 1, jsonName: "concurrency" }] },
    ],
    enumType: [{ name: "StateConsistency", value: [{ name: "CONSISTENCY_UNSPECIFIED", number: 0 }, { name: "CONSISTENCY_STRONG", number: 1 }] }],
    service: [
      {
        name: "Runtime",
        method: [
          { name: "GetState", inputType: t("GetStateRequest"), outputType: t("GetStateResponse") },
          { name: "SaveState", inputType: t("SaveStateRequest"), outputType: t("GetStateResponse") },
          { name: "DeleteState", inputType: t("GetStateRequest"), outputType: t("GetStateResponse") },
        ],
      },
    ],
  };
}

/** The runtime protos; with `extraPackage`, a second copy under another package (to make simple service names ambiguous). */
export function runtimeRegistry(extraPackage?: string): FileRegistry {
  const files = [runtimeProto("spec.proto.runtime.v1")];
  if (extraPackage) files.push(runtimeProto(extraPackage));
  return createFileRegistry(create(FileDescriptorSetSchema, { file: files }));
}
