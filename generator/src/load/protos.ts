import { createFileRegistry, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { buildDescriptorSet, type BufInput } from "./buf";

/** A compiled proto spec: the raw set (for protoc plugins) and its resolved descriptors. */
export interface ProtoSpec {
  readonly set: FileDescriptorSet;
  readonly registry: FileRegistry;
  /** The files the spec itself declares, without imports such as google/protobuf/*. */
  readonly files: readonly DescFile[];
}

export function loadProtos(input: BufInput, isOwn: (fileName: string) => boolean): ProtoSpec {
  const set = buildDescriptorSet(input);
  const registry = createFileRegistry(set);
  const files: DescFile[] = [];
  for (const proto of set.file) {
    if (!isOwn(proto.name)) continue;
    const file = registry.getFile(proto.name);
    if (file) files.push(file);
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { set, registry, files };
}

/** Our own spec: the buf workspace at the repository root (buf.yaml scopes it to spec/proto). */
export function loadSpecProtos(root: string): ProtoSpec {
  return loadProtos({ cwd: root }, (name) => name.startsWith("spec/"));
}
