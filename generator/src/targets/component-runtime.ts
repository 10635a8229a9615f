/**
 * The hand-written package generated component code imports (component base, typed
 * errors, metadata parsing, adapter binding), as protobuf-es output imports
 * @bufbuild/protobuf. It is versioned: the generated package depends on the version
 * generator/package.json pins, so the generator never ships or reads its sources.
 */
export const componentRuntime = "@ottavo/component-runtime";
