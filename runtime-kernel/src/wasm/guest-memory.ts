import "./webassembly-api";

/**
 * Bounds-checked access to a guest's linear memory. Every pointer and length a guest
 * hands the host goes through here: out of range answers undefined/false and nothing
 * is read or written. A guest that grows its memory detaches the old ArrayBuffer, so
 * the views are made again whenever the memory's buffer is a new one.
 */
export class GuestMemory {
  private buffer: ArrayBuffer | undefined;
  private u8 = new Uint8Array(0);
  private view = new DataView(new ArrayBuffer(0));

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** The whole memory as bytes (valid until the guest runs again: it may grow the memory). */
  bytes(): Uint8Array {
    const buffer = this.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.u8 = new Uint8Array(buffer);
      this.view = new DataView(buffer);
    }
    return this.u8;
  }

  private dataView(): DataView {
    this.bytes();
    return this.view;
  }

  /** Whether [ptr, ptr+len) lies inside the memory (both as u32). */
  contains(ptr: number, len: number): boolean {
    ptr >>>= 0;
    len >>>= 0;
    return ptr + len <= this.bytes().length;
  }

  /** A copy of len bytes at ptr, or undefined when that range is not inside the memory. */
  read(ptr: number, len: number): Uint8Array | undefined {
    ptr >>>= 0;
    len >>>= 0;
    const bytes = this.bytes();
    if (ptr + len > bytes.length) return undefined;
    return bytes.slice(ptr, ptr + len);
  }

  write(ptr: number, data: Uint8Array): boolean {
    ptr >>>= 0;
    const bytes = this.bytes();
    if (ptr + data.length > bytes.length) return false;
    bytes.set(data, ptr);
    return true;
  }

  writeU32(ptr: number, value: number): boolean {
    ptr >>>= 0;
    const view = this.dataView();
    if (ptr + 4 > view.byteLength) return false;
    view.setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    ptr >>>= 0;
    const view = this.dataView();
    if (ptr + 8 > view.byteLength) return false;
    view.setBigUint64(ptr, value, true);
    return true;
  }

  readU32(ptr: number): number | undefined {
    ptr >>>= 0;
    const view = this.dataView();
    if (ptr + 4 > view.byteLength) return undefined;
    return view.getUint32(ptr, true);
  }

  /** Whether both out-pointers of a response can take a u32. */
  writable(ptrA: number, ptrB: number): boolean {
    const length = this.bytes().length;
    return (ptrA >>> 0) + 4 <= length && (ptrB >>> 0) + 4 <= length;
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
