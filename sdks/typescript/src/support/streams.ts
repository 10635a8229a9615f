import type { CallOptions } from "@connectrpc/connect";
import { callOptions, guard, guardStream, type CallSettings } from "./call.js";
import { toBytes, type Bytes } from "./bytes.js";

/** What file.put takes: the whole content, or chunks from any (async) iterable (a Node Readable is one). */
export type ByteSource = Bytes | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Chunks sent per message on upload: well under gRPC's 4 MiB message limit. */
const uploadChunkBytes = 64 * 1024;

/** The messages of a client stream: the first carries the names and options, every one a chunk. */
export async function* uploadMessages<T>(data: ByteSource, message: (chunk: Uint8Array, first: boolean) => T): AsyncIterable<T> {
  let first = true;
  for await (const chunk of chunksOf(data)) {
    yield message(chunk, first);
    first = false;
  }
  if (first) yield message(new Uint8Array(0), true);
}

async function* chunksOf(data: ByteSource): AsyncIterable<Uint8Array> {
  if (typeof data === "string" || data instanceof Uint8Array) {
    const bytes = toBytes(data);
    for (let at = 0; at < bytes.length; at += uploadChunkBytes) yield bytes.subarray(at, at + uploadChunkBytes);
    return;
  }
  for await (const chunk of data) if (chunk.length > 0) yield chunk;
}

/** A server stream of `{ data }` messages as a stream of bytes. */
export async function* downloadChunks(capability: string, open: () => AsyncIterable<{ data: Uint8Array }>): AsyncIterable<Uint8Array> {
  for await (const message of guardStream(capability, open)) yield message.data;
}

/** Reads a byte stream (file.get) to the end, into one buffer. */
export async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    parts.push(chunk);
    size += chunk.length;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/** A stream of changes the caller reads with `for await`; close() (or the signal) ends it. */
export interface Subscription<T> extends AsyncIterable<T> {
  close(): void;
}

/**
 * A bidirectional stream used as a watch: one request, then every response until
 * closed. The request side stays open, since closing it ends the watch.
 */
export function watch<Req, Res>(
  capability: string,
  open: (requests: AsyncIterable<Req>, options: CallOptions) => AsyncIterable<Res>,
  request: Req,
  settings: CallSettings,
): Subscription<Res> {
  const { signal, close } = closable(settings.signal);
  async function* requests(): AsyncIterable<Req> {
    yield request;
    await aborted(signal);
  }
  async function* responses(): AsyncIterable<Res> {
    try {
      yield* guardStream(capability, () => open(requests(), callOptions({ ...settings, signal })));
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      close();
    }
  }
  return { [Symbol.asyncIterator]: () => responses()[Symbol.asyncIterator](), close };
}

/** A signal that aborts with the caller's, or when close() is called. */
export function closable(outer: AbortSignal | undefined): { signal: AbortSignal; close: () => void } {
  const controller = new AbortController();
  const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
  return { signal, close: () => controller.abort() };
}

export function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

export { guard };
