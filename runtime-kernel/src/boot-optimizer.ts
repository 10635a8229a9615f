import { setFlagsFromString } from "node:v8";

/**
 * V8's optimising compiler (TurboFan) held off while the runtime starts.
 *
 * Loading the runtime hydrates protobuf-es descriptors for every message of the
 * spec (base64 decoding, reading each FileDescriptorProto, naming every field):
 * loops that run once, but long enough that V8 optimises about ten of protobuf-es's
 * functions during start. That optimised code is never used again, and it costs the
 * compiler's own pages of node's binary and its zone memory: about 6 MB of an idle
 * runtime's resident memory and some 45 ms of compiler CPU (bench/RESULTS.md).
 * Released once the runtime serves, so calls are optimised exactly as before.
 *
 * Left alone when node is given any optimiser or JIT flag (on its command line or
 * in NODE_OPTIONS): the operator's choice wins.
 */
const optimizerFlags = /--(?:no-)?(?:opt|turbofan|always-opt|always-turbofan|jitless|maglev)\b/;

let held = false;

/** Holds the optimiser off; call before loading the runtime's modules. */
export function holdOptimizer(): void {
  if (held || optimizerFlags.test(`${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`)) return;
  setFlagsFromString("--no-opt");
  held = true;
}

/** Lets V8 optimise again (once the runtime serves, or when its start failed). */
export function releaseOptimizer(): void {
  if (!held) return;
  setFlagsFromString("--opt");
  held = false;
}
