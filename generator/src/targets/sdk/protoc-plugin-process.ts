import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, CodeGeneratorResponseSchema } from "@bufbuild/protobuf/wkt";
import type { SpecModel } from "../../spec-model";

/** The repository the generator runs from: tools that `make sdk-tools` installs live in its .cache/. */
export const toolsRoot = resolve(__dirname, "..", "..", "..", "..");

/** A tool installed by `make sdk-tools`, or a clear error naming the make target. */
export function installedTool(relPath: string): string {
  const path = join(toolsRoot, relPath);
  if (!existsSync(path)) throw new Error(`${relPath} is missing: run \`make sdk-tools\` (make gen does it) to install the SDK code generators`);
  return path;
}

/**
 * Runs a compiled protoc plugin (protoc-gen-go, ...) as protoc would: the
 * spec's descriptors as a CodeGeneratorRequest on stdin, files back on stdout.
 * No protoc and no second parse: buf already compiled the protos.
 */
export function runPluginProcess(spec: SpecModel, plugin: string, parameter: string): { name: string; content: string }[] {
  const request = create(CodeGeneratorRequestSchema, {
    fileToGenerate: spec.protos.files.map((f) => f.proto.name),
    parameter,
    protoFile: spec.protos.set.file,
  });
  const run = spawnSync(plugin, [], { input: toBinary(CodeGeneratorRequestSchema, request), maxBuffer: 256 * 1024 * 1024 });
  if (run.error) throw new Error(`${plugin}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`${plugin} exited with ${run.status}: ${run.stderr.toString().trim()}`);
  const response = fromBinary(CodeGeneratorResponseSchema, new Uint8Array(run.stdout.buffer, run.stdout.byteOffset, run.stdout.byteLength));
  if (response.error) throw new Error(`${plugin}: ${response.error}`);
  return response.file.map((file) => ({ name: file.name, content: file.content }));
}
