import { randomFillSync } from "node:crypto";
import type { GuestMemory } from "./guest-memory";

/** WASI errno values used here. */
const errno = { success: 0, badf: 8, inval: 28, nosys: 52 } as const;

/** proc_exit unwinds the guest with this; the invocation fails and the instance is replaced. */
export class GuestExit extends Error {
  constructor(readonly code: number) {
    super(`the function exited with code ${code}`);
  }
}

/**
 * A deliberately small wasi_snapshot_preview1: clocks, random, sleeping in
 * poll_oneoff, and stdout/stderr as log lines. No file system, environment,
 * arguments or sockets: those answer EBADF, ENOSYS or empty, which Go's and
 * other runtimes treat as "nothing there". Any other WASI import the module names
 * is provided as ENOSYS, so every module links.
 */
export function wasiImports(
  memory: () => GuestMemory,
  log: (stream: "stdout" | "stderr", line: string) => void,
  wanted: readonly string[],
): Record<string, (...args: never[]) => number | void> {
  const pending = { 1: "", 2: "" } as Record<number, string>;
  const decoder = new TextDecoder();
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const started = process.hrtime.bigint();

  const imports: Record<string, (...args: never[]) => number | void> = {
    args_sizes_get: (countPtr: number, sizePtr: number) => zeroPair(memory(), countPtr, sizePtr),
    args_get: () => errno.success,
    environ_sizes_get: (countPtr: number, sizePtr: number) => zeroPair(memory(), countPtr, sizePtr),
    environ_get: () => errno.success,
    clock_res_get: (_id: number, ptr: number) => (memory().writeU64(ptr, 1000n) ? errno.success : errno.inval),
    clock_time_get: (id: number, _precision: bigint, ptr: number) => {
      // 0 realtime; 1 monotonic; 2 and 3 (CPU clocks) read as monotonic.
      const now = id === 0 ? BigInt(Date.now()) * 1_000_000n : process.hrtime.bigint() - started;
      return memory().writeU64(ptr, now) ? errno.success : errno.inval;
    },
    random_get: (ptr: number, len: number) => {
      const bytes = new Uint8Array(len >>> 0);
      randomFillSync(bytes);
      return memory().write(ptr, bytes) ? errno.success : errno.inval;
    },
    fd_write: (fd: number, iovs: number, count: number, writtenPtr: number) => {
      if (fd !== 1 && fd !== 2) return errno.badf;
      const mem = memory();
      let total = 0;
      for (let i = 0; i < count; i++) {
        const ptr = mem.readU32(iovs + 8 * i);
        const len = mem.readU32(iovs + 8 * i + 4);
        const bytes = ptr === undefined || len === undefined ? undefined : mem.read(ptr, len);
        if (bytes === undefined) return errno.inval;
        pending[fd] += decoder.decode(bytes);
        total += bytes.length;
      }
      const lines = pending[fd].split("\n");
      pending[fd] = lines.pop() ?? "";
      for (const line of lines) log(fd === 1 ? "stdout" : "stderr", line);
      return mem.writeU32(writtenPtr, total) ? errno.success : errno.inval;
    },
    fd_fdstat_get: (fd: number, ptr: number) => {
      if (fd > 2) return errno.badf;
      // filetype character device (2), no flags, every right.
      const stat = new Uint8Array(24);
      stat[0] = 2;
      stat.fill(0xff, 8, 24);
      return memory().write(ptr, stat) ? errno.success : errno.inval;
    },
    fd_prestat_get: () => errno.badf,
    fd_prestat_dir_name: () => errno.badf,
    fd_close: () => errno.badf,
    fd_read: () => errno.badf,
    fd_seek: () => errno.badf,
    sched_yield: () => errno.success,
    proc_exit: (code: number) => {
      throw new GuestExit(code);
    },
    poll_oneoff: (inPtr: number, outPtr: number, count: number, eventsPtr: number) => {
      // Sleeps for the shortest clock subscription; anything else (fds) answers EBADF.
      const mem = memory();
      let sleepNs = -1n;
      const events = new Uint8Array(32 * count);
      const view = new DataView(events.buffer);
      for (let i = 0; i < count; i++) {
        const sub = mem.read(inPtr + 48 * i, 48);
        if (sub === undefined) return errno.inval;
        const sv = new DataView(sub.buffer);
        view.setBigUint64(32 * i, sv.getBigUint64(0, true), true);
        const tag = sub[8];
        view.setUint8(32 * i + 10, tag);
        if (tag === 0) {
          const timeout = sv.getBigUint64(24, true);
          const absolute = (sv.getUint16(40, true) & 1) === 1;
          const ns = absolute ? timeout - (process.hrtime.bigint() - started) : timeout;
          if (sleepNs < 0n || ns < sleepNs) sleepNs = ns;
        } else {
          view.setUint16(32 * i + 8, errno.badf, true);
        }
      }
      if (sleepNs > 0n) Atomics.wait(sleeper, 0, 0, Number(sleepNs / 1_000_000n));
      if (!mem.write(outPtr, events)) return errno.inval;
      return mem.writeU32(eventsPtr, count) ? errno.success : errno.inval;
    },
  };
  for (const name of wanted) imports[name] ??= () => errno.nosys;
  return imports;
}

function zeroPair(mem: GuestMemory, a: number, b: number): number {
  return mem.writeU32(a, 0) && mem.writeU32(b, 0) ? errno.success : errno.inval;
}
