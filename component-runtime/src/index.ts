/**
 * @ottavo/component-runtime: what generated component code imports, as generated
 * protobuf-es code imports @bufbuild/protobuf/codegenv2. Adapters and the kernel
 * import the same names from here. It depends on no transport library.
 */
export * from "./call-context";
export * from "./component";
export * from "./component-error";
export * from "./metadata";
export * from "./adapter";
export * from "./request-checks";
// The binary wire the generated codecs (generated/codecs) run on, under names that say so.
export {
  Reader as WireReader,
  Writer as WireWriter,
  writer as wireWriter,
  unknownOf as wireUnknownOf,
  boolKey as wireBoolKey,
  intKey as wireIntKey,
  recursionLimit as wireRecursionLimit,
  type Codec as MessageCodec,
} from "./codec-wire";
