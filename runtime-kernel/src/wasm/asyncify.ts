import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

/**
 * Asyncify (binaryen's pass): the module is rewritten so that a guest running on the
 * main thread can suspend inside a host import that has to wait (Redis, Kafka, the
 * network): the import starts the host call and asks the guest to unwind (each frame
 * on the path from the export to the import saves its locals into a data buffer in
 * guest memory and returns); the export returns to JavaScript, which awaits the
 * answer, then asks the guest to rewind (the same export is called again; each frame
 * restores its locals and calls on towards the import) and the import answers. Only
 * the functions that can reach one of the named imports (directly, or through an
 * indirect call) are instrumented.
 *
 * The rewrite runs in a worker thread (asyncify-worker.ts) with the binaryen npm
 * package, loaded there only when a module needs it. Results are remembered by the
 * SHA-256 of the bytes given and the imports, so a reload or re-install of the same
 * module is not rewritten again (its compiled form then comes from the module cache).
 */

/** The exports the pass adds, which the host drives (guest-suspension.ts). */
export const asyncifyExports = ["asyncify_start_unwind", "asyncify_stop_unwind", "asyncify_start_rewind", "asyncify_stop_rewind", "asyncify_get_state"] as const;

/**
 * Modules larger than this are not rewritten (the caller runs them in a worker). The
 * pass's time grows much faster than the size: 0.2-0.4 s for 22 KB of AssemblyScript,
 * 10-90 s for a 1.9-2.9 MB Go module (whose every function can reach an import through
 * Go's indirect-call scheduler loop), measured at load 3 on 2 cores.
 */
export const asyncifyMaxBytes = 1024 * 1024;

/** A rewrite taking longer than this is abandoned (the caller runs the module in a worker). */
export const asyncifyTimeoutMs = 20_000;

export class AsyncifyError extends Error {}

export interface AsyncifyJob {
  readonly bytes: Uint8Array;
  /** `module.name` of each import that may suspend the guest. */
  readonly imports: readonly string[];
  readonly optimizeLevel: number;
}

export type AsyncifyResult = { readonly bytes: Uint8Array; readonly error?: undefined } | { readonly bytes?: undefined; readonly error: string };

/** Rewrites of recent loads (in flight or done), by SHA-256 of the bytes and the imports; the least recently used dropped first. */
const recent = new Map<string, Promise<Uint8Array>>();
const recentLimit = 8;

/**
 * The module rewritten by asyncify for the given imports (`module.name`); rejects with
 * AsyncifyError when it is too large, the pass fails or takes too long. A failure is
 * not remembered.
 */
export function asyncify(bytes: Uint8Array, imports: readonly string[]): Promise<Uint8Array> {
  if (bytes.length > asyncifyMaxBytes) {
    return Promise.reject(new AsyncifyError(`the module (${bytes.length} bytes) is larger than the ${asyncifyMaxBytes} bytes the main thread's rewrite takes`));
  }
  const key = `${createHash("sha256").update(bytes).digest("hex")}/${[...imports].sort().join(",")}`;
  const known = recent.get(key);
  if (known !== undefined) {
    recent.delete(key);
    recent.set(key, known);
    return known;
  }
  const rewritten = inWorker({ bytes, imports, optimizeLevel: 1 });
  recent.set(key, rewritten);
  if (recent.size > recentLimit) recent.delete(recent.keys().next().value!);
  rewritten.catch(() => {
    if (recent.get(key) === rewritten) recent.delete(key);
  });
  return rewritten;
}

function inWorker(job: AsyncifyJob): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerScript(), { stdout: false, stderr: false });
    const timer = setTimeout(() => finish(new AsyncifyError(`binaryen's asyncify took longer than ${asyncifyTimeoutMs} ms`)), asyncifyTimeoutMs);
    let done = false;
    const finish = (outcome: Uint8Array | Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void worker.terminate();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    worker.once("message", (result: AsyncifyResult) => finish(result.error === undefined ? result.bytes : new AsyncifyError(`binaryen's asyncify failed: ${result.error}`)));
    worker.once("error", (error) => finish(new AsyncifyError(`binaryen's asyncify failed: ${error.message}`)));
    worker.once("exit", () => finish(new AsyncifyError("binaryen's asyncify worker exited without an answer")));
    // A copy: the caller keeps its bytes.
    worker.postMessage({ ...job, bytes: job.bytes.slice() });
  });
}

/** The worker script: compiled JavaScript beside this file, in dist/wasm/ from the bundle, or the build output when run from sources (tests). */
function workerScript(): string {
  const candidates = [join(__dirname, "asyncify-worker.js"), join(__dirname, "wasm", "asyncify-worker.js")];
  return candidates.find((file) => existsSync(file)) ?? join(__dirname, "..", "..", "dist", "wasm", "asyncify-worker.js");
}
