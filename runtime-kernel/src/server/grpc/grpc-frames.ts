/** Every gRPC message is framed: one flag byte (bit 0: compressed) and a 4-byte big-endian length. */
export const frameHeaderBytes = 5;

/** One message framed, uncompressed, in a single buffer so it goes out in one write. */
export function frameMessage(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(frameHeaderBytes + body.length);
  frame[0] = 0;
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, frameHeaderBytes);
  return frame;
}

/** Why a unary request body cannot be taken. */
export type FrameProblem =
  | { readonly kind: "too-large"; readonly length: number }
  | { readonly kind: "bad-flag"; readonly flag: number }
  | { readonly kind: "truncated" }
  | { readonly kind: "no-message" }
  | { readonly kind: "extra-message" };

/**
 * Collects the body of a unary gRPC request: exactly one framed message. The
 * frame header is looked at as soon as it arrives, so an oversized message is
 * refused before it is buffered.
 */
export class UnaryFrameReader {
  /** The first chunk; most requests arrive in one. */
  private first: Buffer | undefined;
  /** Every chunk, once a second one came. */
  private chunks: Buffer[] | undefined;
  private received = 0;
  private expected = -1;
  /** The message's flag byte, once its header arrived. */
  private flag = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Takes one chunk; returns a problem when the body can already be refused. */
  push(chunk: Buffer): FrameProblem | undefined {
    if (this.first === undefined) this.first = chunk;
    else (this.chunks ??= [this.first]).push(chunk);
    this.received += chunk.length;
    if (this.expected < 0 && this.received >= frameHeaderBytes) {
      const head = this.chunks === undefined ? chunk : Buffer.concat(this.chunks);
      const flag = head[0]!;
      if (flag !== 0 && flag !== 1) return { kind: "bad-flag", flag };
      this.flag = flag;
      const length = head.readUInt32BE(1);
      if (length > this.maxMessageBytes) return { kind: "too-large", length };
      this.expected = frameHeaderBytes + length;
    }
    if (this.expected >= 0 && this.received > this.expected) return { kind: "extra-message" };
    return undefined;
  }

  /** The message's body once the request ended (`compressed` tells its flag), or why there is none. */
  finish(): Buffer | FrameProblem {
    if (this.received === 0) return { kind: "no-message" };
    if (this.expected < 0 || this.received < this.expected) return { kind: "truncated" };
    const all = this.chunks === undefined ? this.first! : Buffer.concat(this.chunks, this.received);
    return all.subarray(frameHeaderBytes);
  }

  /** Whether the message is compressed (its flag byte is 1); read after finish() answered a body. */
  get compressed(): boolean {
    return this.flag === 1;
  }
}
