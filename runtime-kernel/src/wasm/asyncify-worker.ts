import { parentPort } from "node:worker_threads";
import type { AsyncifyJob, AsyncifyResult } from "./asyncify";

/**
 * Runs binaryen's asyncify pass over one module (see asyncify.ts), in a worker thread
 * of its own: binaryen is an ES module of some 13 MB, loaded only here (a real dynamic
 * import), and the pass takes from milliseconds to seconds, which the runtime's main
 * thread must not spend. The worker answers its jobs one at a time; its owner ends it
 * when none is left.
 */
const port = parentPort!;

port.on("message", (job: AsyncifyJob) => {
  rewrite(job).then(
    (bytes) => port.postMessage({ bytes } satisfies AsyncifyResult, [bytes.buffer as ArrayBuffer]),
    (error: unknown) => port.postMessage({ error: error instanceof Error ? error.message : String(error) } satisfies AsyncifyResult),
  );
});

async function rewrite(job: AsyncifyJob): Promise<Uint8Array> {
  const { default: binaryen } = await import("binaryen");
  const f = binaryen.Features;
  const module = binaryen.readBinary(job.bytes);
  try {
    // What Node 20's V8 runs without flags; binaryen writes nothing beyond what it is allowed.
    module.setFeatures(
      f.MutableGlobals | f.NontrappingFPToInt | f.SIMD128 | f.BulkMemory | f.BulkMemoryOpt | f.SignExt | f.ExceptionHandling | f.TailCall | f.ReferenceTypes | f.Multivalue,
    );
    binaryen.setOptimizeLevel(job.optimizeLevel);
    binaryen.setShrinkLevel(0);
    binaryen.setPassArgument("asyncify-imports", job.imports.join(","));
    module.runPasses(["asyncify"]);
    const out = module.emitBinary();
    // A copy the worker can give away (emitBinary's view may share binaryen's heap).
    return out.slice();
  } finally {
    module.dispose();
  }
}
