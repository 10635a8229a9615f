import type { HandlerContext } from "@connectrpc/connect";
import type { RuntimeFileRpcs } from "@ottavo/generated/server/runtime-handlers";
import type {
  FileMetaValueSchema,
  FileRequest,
  GetFileRequest,
  GetFileResponseSchema,
  PutFileRequest,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ComponentEntry, ComponentTable } from "../registry/component-table";
import { lookupTexts } from "./component-lookup";
import { invalidArgument } from "../errors/error-mapping";
import { atComponent } from "./call-context";

/** The largest GetFile chunk, as upstream's 100 KiB read buffer. */
export const fileChunkSize = 100 * 1024;
/** ListFile's page size when the request gives none (what S3-style stores default to). */
export const defaultListPageSize = 1000;

/** GetFile's text for a name that is not a file store; Layotto's other file rpcs say lookupTexts.file's. */
const getFileNotFound = (name: string) => `not supported store type: ${name}`;

type GetFileResponse = MessageInitShape<typeof GetFileResponseSchema>;

export function createFileHandlers(table: ComponentTable): RuntimeFileRpcs {
  /**
   * The named store. As in Layotto, any name that is not a store (empty, unknown,
   * or no file store configured at all) is INVALID_ARGUMENT naming it.
   */
  function store(storeName: string, notFound = lookupTexts.file.notFound): ComponentEntry<"file"> {
    const entry = table.get("file", storeName);
    if (entry === undefined) throw invalidArgument(notFound(storeName));
    return entry;
  }

  /** The FileRequest inside ListFile, DelFile and GetFileMeta; Layotto's text when it is missing. */
  function inner(request: { request?: FileRequest }): FileRequest {
    if (request.request === undefined) throw invalidArgument("request can't be nil");
    return request.request;
  }

  return {
    getFile(request, context) {
      return getFile(request, context);
    },

    async putFile(requests, context) {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done) return {}; // nothing was sent, as Layotto answers an immediate EOF
      const head = first.value;
      const entry = store(head.storeName);
      atComponent(context, entry.name, head.name);
      await entry.component.put({ name: head.name, metadata: head.metadata }, chunks(head, iterator));
      return {};
    },

    async listFile(request, context) {
      const file = inner(request);
      const entry = store(file.storeName);
      const page = await entry.component.list({
        name: file.name,
        pageSize: request.pageSize > 0 ? request.pageSize : defaultListPageSize,
        marker: request.marker,
        metadata: file.metadata,
      }, atComponent(context, entry.name, file.name));
      return {
        files: page.files.map((info) => ({
          fileName: info.name,
          size: info.size,
          lastModified: info.lastModified,
          metadata: info.metadata,
        })),
        marker: page.marker,
        isTruncated: page.truncated,
      };
    },

    async delFile(request, context) {
      const file = inner(request);
      const entry = store(file.storeName);
      await entry.component.delete({ name: file.name, metadata: file.metadata }, atComponent(context, entry.name, file.name));
      return {};
    },

    async getFileMeta(request, context) {
      const file = inner(request);
      const entry = store(file.storeName);
      const meta = await entry.component.stat({ name: file.name, metadata: file.metadata }, atComponent(context, entry.name, file.name));
      const metadata: Record<string, MessageInitShape<typeof FileMetaValueSchema>> = {};
      for (const [key, values] of Object.entries(meta.metadata)) metadata[key] = { value: values };
      return { size: meta.size, lastModified: meta.lastModified, response: { metadata } };
    },
  };

  /**
   * Streams the file in chunks of at most fileChunkSize, in order. The file is
   * let go (its handle closed) on every exit: the end, an error, and a client that
   * stopped reading and went away. In that last case this generator is stuck at a
   * yield whose write never completes, so it cannot clean up itself: the call's
   * abort signal ends the component's iterator directly.
   */
  async function* getFile(request: GetFileRequest, context: HandlerContext): AsyncGenerator<GetFileResponse> {
    const entry = store(request.storeName, getFileNotFound);
    const signal = context.signal;
    atComponent(context, entry.name, request.name);
    const file = entry.component.get({ name: request.name, metadata: request.metadata })[Symbol.asyncIterator]();
    const release = () => void file.return?.()?.catch(() => undefined);
    signal.addEventListener("abort", release, { once: true });
    try {
      for (;;) {
        const next = await file.next();
        if (next.done) return;
        const chunk = next.value;
        for (let at = 0; at < chunk.length; at += fileChunkSize) {
          yield { data: chunk.subarray(at, Math.min(at + fileChunkSize, chunk.length)) };
        }
      }
    } finally {
      signal.removeEventListener("abort", release);
      release();
    }
  }
}

/** The upload's bytes: the first message's data, then every later message's. */
async function* chunks(head: PutFileRequest, rest: AsyncIterator<PutFileRequest>): AsyncGenerator<Uint8Array> {
  if (head.data.length > 0) yield head.data;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    if (next.value.data.length > 0) yield next.value.data;
  }
}
