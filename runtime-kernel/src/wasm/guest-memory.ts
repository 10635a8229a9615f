import "./webassembly-api";

/**
 * Bounds-checked access to a guest's linear memory. Every pointer and length a guest
 * hands the host goes through here: out of range answers undefined/false and nothing
 * is read or written. The views are kept between calls: asking the memory for its
 * buffer is a call into the engine that costs more than the host call's own checks.
 * A guest that grows its memory detaches the old buffer (its views then have length
 * 0), and only then are the views made again; a shared memory is not detached when it
 * grows, so a range that does not fit the views is checked once more against the
 * memory's current buffer before it is refused.
 */
export class GuestMemory {
  private u8 = new Uint8Array(0);
  private view = new DataView(new ArrayBuffer(0));

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** The whole memory as bytes (valid until the guest runs again: it may grow the memory). */
  bytes(): Uint8Array {
    return this.u8.length !== 0 ? this.u8 : this.refresh();
  }

  /** Views over the memory's current buffer. */
  private refresh(): Uint8Array {
    const buffer = this.memory.buffer;
    if (buffer !== this.u8.buffer) {
      this.u8 = new Uint8Array(buffer);
      this.view = new DataView(buffer);
    }
    return this.u8;
  }

  /** Whether the memory reaches `end` (bytes [0, end) exist). */
  private reaches(end: number): boolean {
    return end <= this.bytes().length || end <= this.refresh().length;
  }

  /** Whether [ptr, ptr+len) lies inside the memory (both as u32). */
  contains(ptr: number, len: number): boolean {
    return this.reaches((ptr >>> 0) + (len >>> 0));
  }

  /** A copy of len bytes at ptr, or undefined when that range is not inside the memory. */
  read(ptr: number, len: number): Uint8Array | undefined {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.reaches(ptr + len)) return undefined;
    return this.u8.slice(ptr, ptr + len);
  }

  write(ptr: number, data: Uint8Array): boolean {
    ptr >>>= 0;
    if (!this.reaches(ptr + data.length)) return false;
    this.u8.set(data, ptr);
    return true;
  }

  writeU32(ptr: number, value: number): boolean {
    ptr >>>= 0;
    if (!this.reaches(ptr + 4)) return false;
    this.view.setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    ptr >>>= 0;
    if (!this.reaches(ptr + 8)) return false;
    this.view.setBigUint64(ptr, value, true);
    return true;
  }

  readU32(ptr: number): number | undefined {
    ptr >>>= 0;
    if (!this.reaches(ptr + 4)) return undefined;
    return this.view.getUint32(ptr, true);
  }

  /** Whether both out-pointers of a response can take a u32. */
  writable(ptrA: number, ptrB: number): boolean {
    return this.reaches((ptrA >>> 0) + 4) && this.reaches((ptrB >>> 0) + 4);
  }

  get byteLength(): number {
    return this.refresh().length;
  }
}

/** Copies data into the guest through its allocator and returns where, or undefined when the allocator answered a bad range. */
export function placeInGuest(memory: GuestMemory, alloc: (size: number) => number, data: Uint8Array): number | undefined {
  const ptr = alloc(data.length) >>> 0;
  return memory.write(ptr, data) ? ptr : undefined;
}
