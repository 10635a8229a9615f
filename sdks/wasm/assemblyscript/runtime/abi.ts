// The call convention of Ottavo's host imports (module "ottavo"), hand-written; the
// generated calls and messages in ../generated use it. A function's entry file
// re-exports ottavo_alloc and ottavo_abi_version_1 from here.

/** Status codes of host calls and invocations: gRPC's codes (0 is OK). */
export namespace Status {
  export const OK: u32 = 0;
  export const UNKNOWN: u32 = 2;
  export const INVALID_ARGUMENT: u32 = 3;
  export const NOT_FOUND: u32 = 5;
  export const PERMISSION_DENIED: u32 = 7;
  export const INTERNAL: u32 = 13;
}

@external("ottavo", "output")
declare function hostOutput(ptr: usize, len: u32): void;

@external("ottavo", "log")
declare function hostLog(level: u32, ptr: usize, len: u32): void;

/** Memory the host asks for while answering a call; the guest frees it once copied. */
export function ottavo_alloc(size: u32): usize {
  return heap.alloc(<usize>(size == 0 ? 1 : size));
}

/** The ABI version this SDK speaks; the host refuses a module without a version it knows. */
export function ottavo_abi_version_1(): void {}

// Where the host writes a response's pointer and length (two u32).
const outSlots = memory.data(8);

export class Abi {
  /** The status of the last host call (0 after a success). */
  static lastStatus: u32 = 0;
  /** The error text of the last failed host call. */
  static lastMessage: string = "";
  /** Set by fail() during an invocation. */
  static failCode: u32 = 0;
  static failMessage: string = "";

  static get outPtr(): usize {
    return outSlots;
  }

  static get outLen(): usize {
    return outSlots + 4;
  }

  /** The response of the host call that answered status: its bytes, or null (lastStatus/lastMessage say why). */
  static take(status: u32): Uint8Array | null {
    const ptr = <usize>load<u32>(outSlots);
    const len = load<u32>(outSlots + 4);
    store<u32>(outSlots, 0);
    store<u32>(outSlots + 4, 0);
    const bytes = Abi.copy(ptr, len);
    Abi.lastStatus = status;
    Abi.lastMessage = status == 0 ? "" : String.UTF8.decodeUnsafe(bytes.dataStart, <usize>bytes.length);
    return status == 0 ? bytes : null;
  }

  /** Copies and frees a buffer the host allocated with ottavo_alloc. */
  static copy(ptr: usize, len: u32): Uint8Array {
    const bytes = new Uint8Array(<i32>len);
    if (ptr != 0) {
      memory.copy(bytes.dataStart, ptr, <usize>len);
      heap.free(ptr);
    }
    return bytes;
  }

  /** Answers the current invocation with bytes. */
  static output(bytes: Uint8Array): void {
    hostOutput(bytes.dataStart, <u32>bytes.length);
  }
}

/** Fails the current invocation with a status and a message (the handler's return value is then ignored). */
export function fail(code: u32, message: string): void {
  Abi.failCode = code == 0 ? Status.UNKNOWN : code;
  Abi.failMessage = message;
}

/** Writes a line to the runtime's log (1 debug, 2 info, 3 warn, 4 error). */
export function log(level: u32, line: string): void {
  const b = String.UTF8.encode(line);
  hostLog(level, changetype<usize>(b), <u32>b.byteLength);
}
