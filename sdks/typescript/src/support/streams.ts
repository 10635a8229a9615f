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

/**
 * A stream of changes the caller reads with `for await`; close() (or the signal)
 * ends it. `ready` resolves once the runtime confirmed the subscription, so a
 * change made after it is delivered here; it rejects with the call's typed error
 * when the subscription fails first.
 */
export interface Subscription<T> extends AsyncIterable<T> {
  readonly ready: Promise<void>;
  close(): void;
}

/** How the runtime confirms a watch: the request header that asks for it, and the response that is the confirmation. */
export interface WatchConfirmation<Res> {
  readonly header: string;
  confirms(response: Res): boolean;
}

/**
 * A bidirectional stream used as a watch: one request, then every response until
 * closed. The request side stays open, since closing it ends the watch. The
 * stream opens at once (not on the first read), so `ready` settles without a
 * reader; without a confirmation to wait for, it resolves at once.
 */
export function watch<Req, Res>(
  capability: string,
  open: (requests: AsyncIterable<Req>, options: CallOptions) => AsyncIterable<Res>,
  request: Req,
  settings: CallSettings,
  confirmation?: WatchConfirmation<Res>,
): Subscription<Res> {
  const { signal, close } = closable(settings.signal);
  const { ready, confirm, refuse } = readiness();
  if (!confirmation) confirm();
  const headers = confirmation ? { ...settings.headers, [confirmation.header]: "true" } : settings.headers;

  async function* requests(): AsyncIterable<Req> {
    yield request;
    await aborted(signal);
  }
  async function* responses(): AsyncIterable<Res> {
    try {
      for await (const response of guardStream(capability, () => open(requests(), callOptions({ ...settings, ...(headers ? { headers } : {}), signal })))) {
        if (confirmation?.confirms(response)) {
          confirm();
          continue;
        }
        // A change is news of a working subscription too.
        confirm();
        yield response;
      }
    } catch (error) {
      refuse(error);
      if (!signal.aborted) throw error;
    } finally {
      refuse(new Error("the subscription ended before the runtime confirmed it"));
      close();
    }
  }
  return startedSubscription(responses(), ready, close);
}

/** A subscription's `ready`: confirmed by the runtime's first answer, refused when the stream fails first. */
export function readiness(): { ready: Promise<void>; confirm: () => void; refuse: (error: unknown) => void } {
  let confirm: () => void = () => undefined;
  let refuse: (error: unknown) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => ((confirm = resolve), (refuse = reject)));
  ready.catch(() => undefined);
  return { ready, confirm, refuse };
}

/**
 * A subscription over `items`, whose stream opens at once (its first read starts
 * now, not on the caller's first read), so `ready` settles without a reader.
 */
export function startedSubscription<T>(items: AsyncIterable<T>, ready: Promise<void>, close: () => void): Subscription<T> {
  const iterator = items[Symbol.asyncIterator]();
  const first = iterator.next();
  first.catch(() => undefined);
  let started = false;
  return {
    ready,
    close,
    [Symbol.asyncIterator]: () => ({
      next: () => {
        if (!started) {
          started = true;
          return first;
        }
        return iterator.next();
      },
      return: async () => {
        close();
        await first.catch(() => undefined);
        return iterator.return ? iterator.return() : { done: true, value: undefined };
      },
    }),
  };
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
