import { asyncifyExports } from "./asyncify";
import type { GuestMemory } from "./guest-memory";
import type { BridgeAnswer } from "./host-bridge";

/** What asyncify_get_state answers while the guest unwinds. */
const unwinding = 1;

/**
 * The most bytes of asyncify data (the locals of the frames between the export and the
 * host import) one suspension may take; a guest whose unwind needs more traps, which
 * fails that call (the instance is replaced).
 */
export const unwindBytes = 16 * 1024;

type AsyncifyApi = Record<(typeof asyncifyExports)[number], (...args: number[]) => number>;

/**
 * How a guest rewritten by asyncify (asyncify.ts) waits for a host call on the main
 * thread. A host import that has to wait calls suspend() with the answer's promise and
 * returns; the guest unwinds and its export returns to run(), which awaits the answer,
 * rewinds the guest (calls the same export again) and, when the guest is back in the
 * import, hands the answer over (takeResumed()).
 *
 * The data buffer asyncify writes the guest's frames into is borrowed from the guest's
 * own memory: its first bytes (up to unwindBytes) are copied aside before the unwind,
 * the frames that the unwind wrote there are copied out and the guest's bytes put back;
 * the rewind puts the frames back in and, once the guest is back in the import (every
 * frame read), the guest's bytes again. No guest code runs between the start of an
 * unwind and the end of a rewind, so the guest never sees the loan, and no allocator
 * (one with a garbage collector, or a bump allocator that owns up to the end of memory)
 * has to keep a buffer for the host.
 */
export class GuestSuspension {
  private api: AsyncifyApi | undefined;
  private memory: GuestMemory | undefined;
  /** The guest's bytes the data buffer covers while a suspension lasts. */
  private readonly saved = new Uint8Array(unwindBytes);
  /** The frames of the suspended guest (the data buffer as the unwind left it), while it waits. */
  private readonly frames = new Uint8Array(unwindBytes);
  private framesLength = 0;
  private pending: Promise<BridgeAnswer> | undefined;
  private resumed: BridgeAnswer | undefined;
  private rewinding = false;
  /** Set while run() drives an export: a host call may suspend only then... */
  private driving = false;
  /** ...and not from guest code the host itself called from inside an import (its allocator). */
  nested = 0;

  /** Takes the started instance's asyncify exports and memory; throws when the module has not been rewritten. */
  bind(exports: WebAssembly.Exports, memory: GuestMemory): void {
    const api: Partial<AsyncifyApi> = {};
    for (const name of asyncifyExports) {
      const f = exports[name];
      if (typeof f !== "function") throw new Error(`the module was not rewritten by asyncify (no export ${name})`);
      api[name] = f as (...args: number[]) => number;
    }
    this.api = api as AsyncifyApi;
    this.memory = memory;
  }

  /** Whether a host call made now may suspend the guest. */
  canSuspend(): boolean {
    return this.driving && this.nested === 0 && this.pending === undefined && !this.rewinding && this.memory !== undefined && this.memory.byteLength >= 64;
  }

  /** Starts the guest's unwind; the import returns at once, and answered is handed over when the guest is back (takeResumed). */
  suspend(answered: Promise<BridgeAnswer>): void {
    const mem = this.memory!.bytes();
    const size = Math.min(unwindBytes, mem.length);
    this.saved.set(mem.subarray(0, size));
    // asyncify's data: where the next frame goes, and the end of the buffer; the frames follow.
    this.memory!.writeU32(0, 8);
    this.memory!.writeU32(4, size);
    this.pending = answered;
    this.api!.asyncify_start_unwind(0);
  }

  /** Called first by every import that may suspend: once a rewind is back in the import, the guest's bytes return. */
  enteringImport(): void {
    if (!this.rewinding) return;
    this.api!.asyncify_stop_rewind();
    this.rewinding = false;
    this.memory!.bytes().set(this.saved.subarray(0, this.framesLength), 0);
  }

  /** The answer of the host call the guest suspended in, once: for the import that was called again by the rewind. */
  takeResumed(): BridgeAnswer | undefined {
    const answer = this.resumed;
    this.resumed = undefined;
    return answer;
  }

  /** Whether the guest was unwinding (a trap then is an unwind that did not fit the data buffer). */
  get unwinding(): boolean {
    return this.pending !== undefined && this.api !== undefined && this.api.asyncify_get_state() === unwinding;
  }

  /**
   * Calls an export of the guest to its end, suspending as often as its host calls
   * wait: paused() runs when the guest suspends, and resumed() when its answer is in
   * (it answers false when the guest must not go on: the instance ended meanwhile).
   */
  async run(f: (...args: number[]) => number, args: readonly number[], paused: () => void, resumed: () => boolean): Promise<number> {
    this.driving = true;
    try {
      let result = f(...args);
      while (this.pending !== undefined) {
        if (this.api!.asyncify_get_state() !== unwinding) throw new Error("the guest did not unwind from a host call that waits");
        this.stopUnwind();
        paused();
        const answer = await this.pending;
        this.pending = undefined;
        if (!resumed()) throw new Error("the instance ended while its guest waited for a host call");
        this.startRewind(answer);
        result = f(...args);
        if (this.rewinding) throw new Error("the guest did not rewind to the host call it waited in");
      }
      return result;
    } finally {
      this.driving = false;
    }
  }

  private stopUnwind(): void {
    this.api!.asyncify_stop_unwind();
    const mem = this.memory!.bytes();
    const end = Math.min(this.memory!.readU32(0)!, this.saved.length, mem.length);
    this.framesLength = end;
    this.frames.set(mem.subarray(0, end));
    mem.set(this.saved.subarray(0, end), 0);
  }

  private startRewind(answer: BridgeAnswer): void {
    // Nothing ran in the guest since the unwind: saved still holds its bytes.
    this.memory!.bytes().set(this.frames.subarray(0, this.framesLength), 0);
    this.resumed = answer;
    this.rewinding = true;
    this.api!.asyncify_start_rewind(0);
  }
}
