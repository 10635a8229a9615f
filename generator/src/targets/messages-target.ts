import { protocGenEs } from "@bufbuild/protoc-gen-es/dist/cjs/src/protoc-gen-es-plugin";
import type { Target } from "./target";
import { runProtocPlugin } from "./es-plugin";

/**
 * Messages, enums and service descriptors for every proto in spec/, by protobuf-es's
 * own generator (the descriptors Connect serves and calls with).
 */
export const messagesTarget: Target = {
  name: "messages",
  generate: (spec) => runProtocPlugin(spec, protocGenEs),
};
