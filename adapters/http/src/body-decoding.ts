/**
 * Decoding a response body's Content-Encoding (gzip, deflate, br) as fetch does:
 * leniently, with raw deflate accepted, and unknown codings left as sent.
 */
import { Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";

/** As fetch: a response naming more content codings than this fails instead of being decoded. */
const maxContentCodings = 5;

/** The decoders for a Content-Encoding, in the order they apply; none when a coding is unknown (as fetch). */
export function decodersFor(contentEncoding: string | undefined): Transform[] {
  if (contentEncoding === undefined) return [];
  const codings = contentEncoding
    .toLowerCase()
    .split(",")
    .map((coding) => coding.trim())
    .filter((coding) => coding !== "" && coding !== "identity");
  if (codings.length > maxContentCodings) {
    throw new Error(`too many content codings in the response: ${codings.length}, at most ${maxContentCodings} are decoded`);
  }
  const decoders: Transform[] = [];
  // The codings were applied in the order listed, so they are undone from the last.
  for (const coding of codings.reverse()) {
    if (coding === "gzip" || coding === "x-gzip") decoders.push(zlib.createGunzip(lenientZlib));
    else if (coding === "deflate") decoders.push(new Inflate());
    else if (coding === "br") decoders.push(zlib.createBrotliDecompress(lenientBrotli));
    else return [];
  }
  return decoders;
}

// As fetch: a body cut short decodes to what arrived instead of failing.
const lenientZlib = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const lenientBrotli = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

/**
 * "deflate" is meant to be zlib-wrapped, but some servers send raw deflate; as fetch
 * does, the first byte decides (a zlib header has compression method 8 in its low bits).
 */
class Inflate extends Transform {
  private inner: zlib.Inflate | zlib.InflateRaw | undefined;
  private flushed: TransformCallback | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inner === undefined) {
      if (chunk.byteLength === 0) {
        callback();
        return;
      }
      const inner = (chunk[0]! & 0x0f) === 0x08 ? zlib.createInflate(lenientZlib) : zlib.createInflateRaw(lenientZlib);
      inner.on("data", (out: Buffer) => {
        if (!this.push(out)) inner.pause(); // resumed by _read: the reader's pace holds back inflating
      });
      inner.on("error", (err) => this.destroy(err));
      inner.on("end", () => this.flushed?.());
      this.inner = inner;
    }
    this.inner.write(chunk, () => callback());
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _flush(callback: TransformCallback): void {
    if (this.inner === undefined) {
      callback();
      return;
    }
    this.flushed = callback;
    this.inner.end();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.inner?.destroy();
    callback(err);
  }
}
