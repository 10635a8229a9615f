import { bridgeCodes } from "./host-bridge";
import { suspendedStatus, type HostCalls } from "./host-calls";
import { placeInGuest, type GuestMemory } from "./guest-memory";

export interface OttavoHost {
  memory(): GuestMemory;
  alloc(size: number): number;
  bridge: HostCalls;
  log(level: number, line: string): void;
  /** Receives the invocation's answer (ottavo.output). */
  output(bytes: Uint8Array): void;
}

const encoder = new TextEncoder();

/**
 * The `ottavo` module's imports: one per name of the generated table, each reading
 * its request from guest memory, sending it through the bridge to the runtime's
 * handler, and giving the answer back through the guest's allocator; plus output and
 * log. A bad pointer or length answers OUT_OF_RANGE and touches nothing.
 */
export function ottavoImports(host: OttavoHost, names: readonly string[]): Record<string, (...args: never[]) => number | void> {
  const imports: Record<string, (...args: never[]) => number | void> = {};
  for (const name of names) {
    const op = host.bridge.opOf(`ottavo.${name}`);
    imports[name] = (reqPtr: number, reqLen: number, respPtrPtr: number, respLenPtr: number) => {
      const mem = host.memory();
      if (!mem.writable(respPtrPtr, respLenPtr)) return bridgeCodes.outOfRange;
      if (!mem.contains(reqPtr, reqLen)) {
        return give(host, respPtrPtr, respLenPtr, bridgeCodes.outOfRange, encoder.encode(`${name}: the request (${reqPtr >>> 0}, ${reqLen >>> 0}) is outside the function's memory (${mem.byteLength} bytes)`));
      }
      // The request goes from guest memory into the bridge's buffer, the answer from there into guest memory: no copy in between.
      const status = host.bridge.send(op, mem.bytes(), reqPtr >>> 0, reqLen >>> 0);
      if (status === suspendedStatus) return 0;
      return giveAnswer(host, respPtrPtr, respLenPtr, status);
    };
  }
  imports.output = (ptr: number, len: number) => {
    const bytes = host.memory().read(ptr, len);
    host.output(bytes ?? encoder.encode(`output: (${ptr >>> 0}, ${len >>> 0}) is outside the function's memory`));
  };
  imports.log = (level: number, ptr: number, len: number) => {
    const bytes = host.memory().read(ptr, len);
    if (bytes !== undefined) host.log(level, new TextDecoder().decode(bytes));
  };
  return imports;
}

/** Writes the bridge's answer into the guest through its allocator; a bad allocation answers INTERNAL. */
function giveAnswer(host: OttavoHost, ptrPtr: number, lenPtr: number, status: number): number {
  const mem = host.memory();
  const length = host.bridge.answerLength;
  if (length === 0) {
    mem.writeU32(ptrPtr, 0);
    mem.writeU32(lenPtr, 0);
    return status;
  }
  const at = host.alloc(length) >>> 0;
  // The allocator may have grown the memory: contains() and bytes() look at it afresh.
  if (!mem.contains(at, length)) return bridgeCodes.internal;
  host.bridge.copyAnswer(mem.bytes(), at);
  mem.writeU32(ptrPtr, at);
  mem.writeU32(lenPtr, length);
  return status;
}

/** Writes a status's body into the guest through its allocator; a bad allocation answers INTERNAL. */
function give(host: OttavoHost, ptrPtr: number, lenPtr: number, status: number, body: Uint8Array): number {
  const mem = host.memory();
  if (body.length === 0) {
    mem.writeU32(ptrPtr, 0);
    mem.writeU32(lenPtr, 0);
    return status;
  }
  const at = placeInGuest(mem, (n) => host.alloc(n), body);
  if (at === undefined) return bridgeCodes.internal;
  host.memory().writeU32(ptrPtr, at);
  host.memory().writeU32(lenPtr, body.length);
  return status;
}
