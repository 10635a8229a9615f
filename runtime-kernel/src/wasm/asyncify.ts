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

/** A rewrite of a recent load, in flight or done. */
interface Rewrite {
  readonly promise: Promise<Uint8Array>;
  done?: Uint8Array;
}

/** Rewrites of recent loads, by SHA-256 of the bytes and the imports; the least recently used dropped first. */
const recent = new Map<string, Rewrite>();
const recentLimit = 8;

function keyOf(bytes: Uint8Array, imports: readonly string[]): string {
  return `${createHash("sha256").update(bytes).digest("hex")}/${[...imports].sort().join(",")}`;
}

/** Why these bytes are not rewritten at all (too large), or undefined. */
export function asyncifyRefusal(bytes: Uint8Array): string | undefined {
  if (bytes.length <= asyncifyMaxBytes) return undefined;
  return `the module (${bytes.length} bytes) is larger than the ${asyncifyMaxBytes} bytes the main thread's rewrite takes`;
}

/** The rewritten module when a rewrite of these bytes for these imports has finished (remembered), else undefined. */
export function asyncifyDone(bytes: Uint8Array, imports: readonly string[]): Uint8Array | undefined {
  return recent.get(keyOf(bytes, imports))?.done;
}

/**
 * The module rewritten by asyncify for the given imports (`module.name`); rejects with
 * AsyncifyError when it is too large, the pass fails or takes too long. A failure is
 * not remembered. Rewrites run one at a time.
 */
export function asyncify(bytes: Uint8Array, imports: readonly string[]): Promise<Uint8Array> {
  const refusal = asyncifyRefusal(bytes);
  if (refusal !== undefined) return Promise.reject(new AsyncifyError(refusal));
  const key = keyOf(bytes, imports);
  const known = recent.get(key);
  if (known !== undefined) {
    recent.delete(key);
    recent.set(key, known);
    return known.promise;
  }
  const rewrite: Rewrite = { promise: rewriter.run({ bytes: bytes.slice(), imports, optimizeLevel: 1 }) };
  recent.set(key, rewrite);
  if (recent.size > recentLimit) recent.delete(recent.keys().next().value!);
  rewrite.promise.then(
    (done) => (rewrite.done = done),
    () => {
      if (recent.get(key) === rewrite) recent.delete(key);
    },
  );
  return rewrite.promise;
}

/**
 * The worker thread that rewrites: started for the first job, given the jobs one after
 * another (binaryen is loaded once for all of them), ended when none is left. It does
 * not keep the process alive.
 */
class Rewriter {
  private worker: Worker | undefined;
  /** The last worker's end, once it was told to stop. */
  private ended: Promise<unknown> = Promise.resolve();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly queue: { job: AsyncifyJob; resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }[] = [];
  private busy = false;

  run(job: AsyncifyJob): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.busy) return;
    const item = this.queue.shift();
    if (item === undefined) {
      if (this.worker !== undefined) this.ended = this.worker.terminate();
      this.worker = undefined;
      const ended = this.ended;
      for (const resolve of this.idleWaiters.splice(0)) void ended.then(resolve, resolve);
      return;
    }
    this.busy = true;
    const worker = (this.worker ??= this.start());
    let settled = false;
    const settle = (outcome: Uint8Array | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      if (outcome instanceof Error) {
        // The worker may be stuck in the pass: a new one takes the next job.
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
        item.reject(outcome);
      } else item.resolve(outcome);
      this.busy = false;
      this.next();
    };
    const onMessage = (result: AsyncifyResult) => settle(result.error === undefined ? result.bytes : new AsyncifyError(`binaryen's asyncify failed: ${result.error}`));
    const onExit = () => settle(new AsyncifyError("binaryen's asyncify worker exited without an answer"));
    const timer = setTimeout(() => settle(new AsyncifyError(`binaryen's asyncify took longer than ${asyncifyTimeoutMs} ms`)), asyncifyTimeoutMs);
    timer.unref();
    worker.on("message", onMessage);
    worker.once("exit", onExit);
    worker.postMessage(item.job, [item.job.bytes.buffer as ArrayBuffer]);
  }

  /** Resolves once no rewrite is queued or running and the worker has ended. */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return this.ended.then(() => undefined, () => undefined);
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(): Worker {
    const worker = new Worker(workerScript(), { stdout: false, stderr: false });
    worker.unref();
    // A failure shows as an exit, which fails the job in flight; the next job starts another worker.
    worker.on("error", () => undefined);
    worker.once("exit", () => {
      if (this.worker === worker) this.worker = undefined;
    });
    return worker;
  }
}

const rewriter = new Rewriter();

/** Resolves once no rewrite is queued or running and the rewriting thread has ended (benchmarks wait for it). */
export function asyncifyIdle(): Promise<void> {
  return rewriter.idle();
}

/** The worker script: compiled JavaScript beside this file, in dist/wasm/ from the bundle, or the build output when run from sources (tests). */
function workerScript(): string {
  const candidates = [join(__dirname, "asyncify-worker.js"), join(__dirname, "wasm", "asyncify-worker.js")];
  return candidates.find((file) => existsSync(file)) ?? join(__dirname, "..", "..", "dist", "wasm", "asyncify-worker.js");
}
