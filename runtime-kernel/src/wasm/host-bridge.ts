/**
 * The synchronous bridge between a guest (in a worker thread) and the runtime (on the
 * main thread). A wasm import must answer synchronously while the runtime's handlers
 * are async, so the worker copies the request from guest memory into a
 * SharedArrayBuffer, rings a doorbell (a counter the main thread waits on with
 * Atomics.waitAsync) and blocks; the main thread runs the handler, writes the answer
 * into the same buffer and wakes it; the worker copies the answer into guest memory.
 * No message is posted and nothing is cloned; the worker's side allocates nothing. The
 * worker spins briefly on the answer before it sleeps (spinLoads, with a back-off); the
 * main thread never blocks: its event loop serves everything else meanwhile.
 * Guests run unmodified, and a guest that never returns can be stopped with
 * worker.terminate().
 */

// Atomics.waitAsync is in Node 20 (V8 11) but in TypeScript's lib only from es2024.
declare global {
  interface Atomics {
    waitAsync(typedArray: Int32Array, index: number, value: number, timeout?: number): { async: false; value: "not-equal" | "timed-out" } | { async: true; value: Promise<"ok" | "timed-out"> };
  }
}

/** Int32 slots at the start of the shared buffer. */
const Slot = { State: 0, Status: 1, Length: 2, Op: 3, Doorbell: 4 } as const;
const headerBytes = 32;

const BridgeState = { Idle: 0, Requested: 1, Answered: 2 } as const;

/**
 * How long the worker spins on an answer before it sleeps, as a count of loads of the
 * state slot (about 50 µs at some 12 ns a load): a count, because reading a clock
 * (performance.now()) allocates a heap number per read. Putting a thread to sleep and
 * waking it is the bridge's main cost (a futex wait and wake, and a CPU leaving its idle
 * state: tens of µs of time and CPU on a virtual machine), more than an in-memory
 * component's answer takes; a network backend's answer takes longer, and the back-off
 * below makes nearly all of its calls sleep at once.
 */
const spinLoads = 4_000;
/** After a spin that found nothing, spinning pauses for 1, 2, 4, ... up to this many waits. */
const maxSpinBackoff = 256;

/**
 * Whether to spin before sleeping: always, until a spin finds nothing; then not for the
 * next 1, 2, 4, ... waits (doubling with each fruitless spin, back to none after one that
 * pays). A wait that is long (a network backend) or a thread that lost its CPU (a busy
 * machine) so costs one spin now and then.
 */
class SpinPolicy {
  private backoff = 0;
  private skip = 0;

  /** Whether this wait spins first. */
  next(): boolean {
    if (this.skip === 0) return true;
    this.skip--;
    return false;
  }

  /** The spin saw the answer. */
  paid(): void {
    this.backoff = 0;
  }

  /** The spin ended without the answer. */
  wasted(): void {
    this.backoff = Math.min(maxSpinBackoff, this.backoff * 2 || 1);
    this.skip = this.backoff;
  }
}

/** Below this many bytes a copy is a loop (no view is made). */
const smallCopy = 64;

/** gRPC codes the bridge itself answers. */
export const bridgeCodes = { ok: 0, resourceExhausted: 8, outOfRange: 11, internal: 13 } as const;

export interface BridgeAnswer {
  readonly status: number;
  readonly body: Uint8Array;
}

/** A shared buffer for one instance: a header and room for one message of at most capBytes. */
export function createBridgeBuffer(capBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(headerBytes + capBytes);
}

/** The host calls a guest can make, by number: both ends build this table from the same import names. */
export function bridgeOps(ottavoImports: readonly string[]): readonly string[] {
  return [...ottavoImports.map((name) => `ottavo.${name}`), "proxy.get_state", "proxy.invoke_service"];
}

function copyBytes(to: Uint8Array, toAt: number, from: Uint8Array, fromAt: number, length: number): void {
  if (length <= smallCopy) {
    for (let i = 0; i < length; i++) to[toAt + i] = from[fromAt + i];
  } else to.set(from.subarray(fromAt, fromAt + length), toAt);
}

/** The worker's end: send() blocks until the main thread answers. */
export class BridgeClient {
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private readonly opIndex: ReadonlyMap<string, number>;
  /** An answer the bridge gave itself (a request over the cap), instead of the buffer's. */
  private local: Uint8Array | undefined;
  private readonly spin = new SpinPolicy();

  constructor(buffer: SharedArrayBuffer, ops: readonly string[]) {
    this.control = new Int32Array(buffer, 0, headerBytes / 4);
    this.data = new Uint8Array(buffer, headerBytes);
    this.opIndex = new Map(ops.map((op, i) => [op, i]));
  }

  get capBytes(): number {
    return this.data.length;
  }

  /** The number of a host call, for send(). */
  opOf(op: string): number {
    const index = this.opIndex.get(op);
    if (index === undefined) throw new Error(`the bridge has no host call ${op}`);
    return index;
  }

  /**
   * Sends length bytes of source from `from` as a request of host call op, blocks until
   * the main thread answers, and returns the answer's status. The answer's bytes stay in
   * the buffer (answerLength, copyAnswer, answerBytes) until the next send.
   */
  send(op: number, source: Uint8Array, from: number, length: number): number {
    if (length > this.data.length) {
      this.local = new TextEncoder().encode(`the request (${length} bytes) exceeds the function's buffer cap of ${this.data.length} bytes`);
      return bridgeCodes.resourceExhausted;
    }
    this.local = undefined;
    const control = this.control;
    copyBytes(this.data, 0, source, from, length);
    Atomics.store(control, Slot.Op, op);
    Atomics.store(control, Slot.Length, length);
    Atomics.store(control, Slot.State, BridgeState.Requested);
    Atomics.add(control, Slot.Doorbell, 1);
    Atomics.notify(control, Slot.Doorbell);
    this.awaitAnswer();
    Atomics.store(control, Slot.State, BridgeState.Idle);
    return Atomics.load(control, Slot.Status);
  }

  private awaitAnswer(): void {
    const control = this.control;
    if (this.spin.next()) {
      for (let i = spinLoads; i > 0; i--) {
        if (Atomics.load(control, Slot.State) !== BridgeState.Requested) {
          this.spin.paid();
          return;
        }
      }
      this.spin.wasted();
    }
    Atomics.wait(control, Slot.State, BridgeState.Requested);
  }

  get answerLength(): number {
    return this.local?.length ?? Atomics.load(this.control, Slot.Length);
  }

  /** Copies the answer's bytes into target at `at` (the caller made room for answerLength bytes). */
  copyAnswer(target: Uint8Array, at: number): void {
    if (this.local !== undefined) target.set(this.local, at);
    else copyBytes(target, at, this.data, 0, this.answerLength);
  }

  /** A copy of the answer's bytes. */
  answerBytes(): Uint8Array {
    return this.local ?? this.data.slice(0, this.answerLength);
  }

  /** send() for a request already in a Uint8Array of its own; the answer copied out. */
  call(op: string, request: Uint8Array): BridgeAnswer {
    const status = this.send(this.opOf(op), request, 0, request.length);
    return { status, body: this.answerBytes() };
  }
}

/**
 * The main thread's end: waits (without blocking the event loop) for the worker's
 * doorbell, hands each request to onRequest, and writes its answer back.
 */
export class BridgeServer {
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private seen = 0;
  private closed = false;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly ops: readonly string[],
    private readonly onRequest: (op: string, request: Uint8Array) => void,
  ) {
    this.control = new Int32Array(buffer, 0, headerBytes / 4);
    this.data = new Uint8Array(buffer, headerBytes);
    this.listen();
  }

  /** Waits for the doorbell without blocking the event loop (one wait armed at a time). */
  private listen(): void {
    if (this.closed) return;
    const waited = Atomics.waitAsync(this.control, Slot.Doorbell, this.seen);
    if (waited.async) void waited.value.then(this.rung);
    else this.rung();
  }

  private readonly rung = (): void => {
    if (this.closed) return;
    if (!this.serve()) this.listen();
  };

  /** Hands the request the doorbell announces to onRequest; false when there is none. */
  private serve(): boolean {
    const bell = Atomics.load(this.control, Slot.Doorbell);
    if (bell === this.seen || Atomics.load(this.control, Slot.State) !== BridgeState.Requested) return false;
    this.seen = bell;
    const op = this.ops[Atomics.load(this.control, Slot.Op)] ?? "unknown";
    // A copy: what the handler keeps (a saved value) must not change with the next request.
    this.onRequest(op, this.data.slice(0, Atomics.load(this.control, Slot.Length)));
    return true;
  }

  /** Writes the answer, wakes the worker, and waits for its next request. */
  answer(answer: BridgeAnswer): void {
    const fits = answer.body.length <= this.data.length;
    const { status, body: full } = fits
      ? answer
      : tooLarge(`the response (${answer.body.length} bytes) exceeds the function's buffer cap of ${this.data.length} bytes`);
    // Under a cap smaller than the bridge's own message, the message is cut to the cap.
    const body = full.length <= this.data.length ? full : full.subarray(0, this.data.length);
    copyBytes(this.data, 0, body, 0, body.length);
    Atomics.store(this.control, Slot.Status, status);
    Atomics.store(this.control, Slot.Length, body.length);
    Atomics.store(this.control, Slot.State, BridgeState.Answered);
    Atomics.notify(this.control, Slot.State);
    this.listen();
  }

  /** Stops listening (the worker is gone); the pending wait is released. */
  close(): void {
    this.closed = true;
    Atomics.notify(this.control, Slot.Doorbell);
  }
}

function tooLarge(message: string): BridgeAnswer {
  return { status: bridgeCodes.resourceExhausted, body: new TextEncoder().encode(message) };
}

/** Several byte strings in one bridge message: each as a u32 length and its bytes. */
export function packFields(fields: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(fields.reduce((n, f) => n + 4 + f.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of fields) {
    view.setUint32(at, f.length, true);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

export function unpackFields(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Uint8Array[] = [];
  let at = 0;
  while (at + 4 <= bytes.length) {
    const n = view.getUint32(at, true);
    fields.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return fields;
}
