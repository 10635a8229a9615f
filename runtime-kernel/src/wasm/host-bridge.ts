/**
 * The synchronous bridge between a guest (in a worker thread) and the runtime (on the
 * main thread). A wasm import must answer synchronously while the runtime's handlers
 * are async, so the worker writes the request into a SharedArrayBuffer, posts a note
 * and blocks in Atomics.wait; the main thread runs the handler, writes the answer
 * into the same buffer and wakes it. Guests run unmodified, and a guest that never
 * returns can be stopped with worker.terminate().
 */

/** Int32 slots at the start of the shared buffer. */
const Slot = { State: 0, Status: 1, Length: 2 } as const;
const headerBytes = 16;

const BridgeState = { Idle: 0, Requested: 1, Answered: 2 } as const;

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

/** The worker's end: call() blocks until the main thread answers. */
export class BridgeClient {
  private readonly control: Int32Array;
  private readonly data: Uint8Array;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly post: (op: string, length: number) => void,
  ) {
    this.control = new Int32Array(buffer, 0, headerBytes / 4);
    this.data = new Uint8Array(buffer, headerBytes);
  }

  get capBytes(): number {
    return this.data.length;
  }

  call(op: string, request: Uint8Array): BridgeAnswer {
    if (request.length > this.data.length) {
      return tooLarge(`the request (${request.length} bytes) exceeds the function's buffer cap of ${this.data.length} bytes`);
    }
    this.data.set(request);
    Atomics.store(this.control, Slot.State, BridgeState.Requested);
    this.post(op, request.length);
    Atomics.wait(this.control, Slot.State, BridgeState.Requested);
    const status = Atomics.load(this.control, Slot.Status);
    const length = Atomics.load(this.control, Slot.Length);
    const body = this.data.slice(0, length);
    Atomics.store(this.control, Slot.State, BridgeState.Idle);
    return { status, body };
  }
}

/** The main thread's end: reads a posted request and writes its answer. */
export class BridgeServer {
  private readonly control: Int32Array;
  private readonly data: Uint8Array;

  constructor(buffer: SharedArrayBuffer) {
    this.control = new Int32Array(buffer, 0, headerBytes / 4);
    this.data = new Uint8Array(buffer, headerBytes);
  }

  request(length: number): Uint8Array {
    return this.data.slice(0, length);
  }

  answer(answer: BridgeAnswer): void {
    const fits = answer.body.length <= this.data.length;
    const { status, body } = fits
      ? answer
      : tooLarge(`the response (${answer.body.length} bytes) exceeds the function's buffer cap of ${this.data.length} bytes`);
    this.data.set(body);
    Atomics.store(this.control, Slot.Status, status);
    Atomics.store(this.control, Slot.Length, body.length);
    Atomics.store(this.control, Slot.State, BridgeState.Answered);
    Atomics.notify(this.control, Slot.State);
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
