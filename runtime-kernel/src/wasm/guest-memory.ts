import "./webassembly-api";

/**
 * Bounds-checked access to a guest's linear memory. Every pointer and length a guest
 * hands the host goes through here: out of range answers undefined/false and nothing
 * is read or written. Views are made afresh on every access, because a guest that
 * grows its memory detaches the old ArrayBuffer.
 */
export class GuestMemory {
  constructor(private readonly memory: WebAssembly.Memory) {}

  private inRange(ptr: number, len: number): boolean {
    return ptr >= 0 && len >= 0 && ptr + len <= this.memory.buffer.byteLength;
  }

  /** A copy of len bytes at ptr, or undefined when that range is not inside the memory. */
  read(ptr: number, len: number): Uint8Array | undefined {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.inRange(ptr, len)) return undefined;
    return new Uint8Array(this.memory.buffer, ptr, len).slice();
  }

  write(ptr: number, data: Uint8Array): boolean {
    ptr >>>= 0;
    if (!this.inRange(ptr, data.length)) return false;
    new Uint8Array(this.memory.buffer, ptr, data.length).set(data);
    return true;
  }

  writeU32(ptr: number, value: number): boolean {
    ptr >>>= 0;
    if (!this.inRange(ptr, 4)) return false;
    new DataView(this.memory.buffer).setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    ptr >>>= 0;
    if (!this.inRange(ptr, 8)) return false;
    new DataView(this.memory.buffer).setBigUint64(ptr, value, true);
    return true;
  }

  readU32(ptr: number): number | undefined {
    ptr >>>= 0;
    if (!this.inRange(ptr, 4)) return undefined;
    return new DataView(this.memory.buffer).getUint32(ptr, true);
  }

  /** Whether both out-pointers of a response can take a u32. */
  writable(...ptrs: number[]): boolean {
    return ptrs.every((p) => this.inRange(p >>> 0, 4));
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }
}

/** Copies data into the guest through its allocator and returns where, or undefined when the allocator answered a bad range. */
export function placeInGuest(memory: GuestMemory, alloc: (size: number) => number, data: Uint8Array): number | undefined {
  const ptr = alloc(data.length) >>> 0;
  return memory.write(ptr, data) ? ptr : undefined;
}
