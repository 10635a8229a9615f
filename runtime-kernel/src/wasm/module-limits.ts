import { concat, leb } from "./wasm-bytes";

/**
 * Caps a module's memory by rewriting the maximum in its memory section, before it
 * is compiled: a guest that grows past the cap then fails memory.grow like any
 * wasm program out of memory (Go and AssemblyScript trap), and nothing outside the
 * engine has to watch it. Worker resourceLimits do not cover wasm memory.
 */

/** 64 KiB, a wasm page. */
export const wasmPageBytes = 65_536;

export class ModuleLimitError extends Error {}

export function capMemoryPages(bytes: Uint8Array, maxPages: number): Uint8Array {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new ModuleLimitError("not a WebAssembly module (no \\0asm header)");
  }
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const size = readLeb(bytes, at + 1);
    const contentStart = at + 1 + size.length;
    const contentEnd = contentStart + size.value;
    if (contentEnd > bytes.length) throw new ModuleLimitError("the module is truncated");
    if (id === 5) {
      const content = capMemorySection(bytes.subarray(contentStart, contentEnd), maxPages);
      return concat([bytes.subarray(0, at + 1), leb(content.length), content, bytes.subarray(contentEnd)]);
    }
    at = contentEnd;
  }
  return bytes;
}

function capMemorySection(section: Uint8Array, maxPages: number): Uint8Array {
  const count = readLeb(section, 0);
  let at = count.length;
  const parts: Uint8Array[] = [leb(count.value)];
  for (let i = 0; i < count.value; i++) {
    const flags = section[at];
    if (flags !== 0 && flags !== 1) throw new ModuleLimitError(`memory ${i} has limits flags ${flags} (shared or 64-bit memory), which functions may not use`);
    const min = readLeb(section, at + 1);
    at += 1 + min.length;
    let declaredMax: number | undefined;
    if (flags === 1) {
      const max = readLeb(section, at);
      declaredMax = max.value;
      at += max.length;
    }
    if (min.value > maxPages) {
      throw new ModuleLimitError(`the module starts with ${min.value} memory pages, more than the function's cap of ${maxPages} pages`);
    }
    const max = Math.min(declaredMax ?? maxPages, maxPages);
    parts.push(Uint8Array.of(1), leb(min.value), leb(max));
  }
  parts.push(section.subarray(at));
  return concat(parts);
}

function readLeb(bytes: Uint8Array, at: number): { value: number; length: number } {
  let value = 0;
  let shift = 0;
  let length = 0;
  for (;;) {
    if (at + length >= bytes.length || length > 5) throw new ModuleLimitError("the module is malformed (bad LEB128)");
    const b = bytes[at + length++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return { value, length };
  }
}
