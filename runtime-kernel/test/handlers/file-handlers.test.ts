import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  DelFileRequestSchema,
  GetFileMetaRequestSchema,
  GetFileRequestSchema,
  ListFileRequestSchema,
  PutFileRequestSchema,
} from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { fileChunkSize } from "../../src/handlers/file-handlers";
import { bytes, contextFor, expectError, runtimeWith, text } from "./support";

describe("file handlers", () => {
  let runtime: Awaited<ReturnType<typeof runtimeWith>>;
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "ottavo-file-handlers-"));
    runtime = await runtimeWith([{ capability: "file", type: "local", name: "files", metadata: { rootDir: root } }]);
  });
  afterEach(async () => {
    await runtime.close();
    await rm(root, { recursive: true, force: true });
  });

  async function* messages(...parts: MessageInitShape<typeof PutFileRequestSchema>[]) {
    for (const part of parts) yield create(PutFileRequestSchema, part);
  }
  const put = (name: string, ...chunks: Uint8Array[]) =>
    runtime.groups.file.putFile(
      messages({ storeName: "files", name, metadata: { owner: "me" }, data: chunks[0] }, ...chunks.slice(1).map((data) => ({ data }))),
      contextFor("putFile"),
    );
  async function read(name: string, storeName = "files") {
    const chunks: Uint8Array[] = [];
    for await (const chunk of runtime.groups.file.getFile(create(GetFileRequestSchema, { storeName, name }), contextFor("getFile"))) {
      chunks.push(chunk.data ?? new Uint8Array(0));
    }
    return chunks;
  }
  const fileRequest = (name: string, storeName = "files") => ({ request: { storeName, name } });

  it("writes a file from a stream of chunks and reads it back", async () => {
    await put("greeting.txt", bytes("hello "), bytes("world"));
    expect(text(Buffer.concat(await read("greeting.txt")))).toBe("hello world");
  });

  it("streams large files in chunks of at most 100 KiB, in order", async () => {
    const content = Buffer.alloc(250 * 1024, 7);
    content[content.length - 1] = 9;
    await put("big.bin", content.subarray(0, 200_000), content.subarray(200_000));
    const chunks = await read("big.bin");
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.every((chunk) => chunk.length <= fileChunkSize)).toBe(true);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
  });

  it("lists files a page at a time, with a default page size when none is given", async () => {
    for (const name of ["a.txt", "b.txt", "c.txt"]) await put(name, bytes(name));
    const all = await runtime.groups.file.listFile(create(ListFileRequestSchema, fileRequest("")), contextFor("listFile"));
    expect(all.files?.map((f) => [f.fileName, f.size])).toEqual([
      ["a.txt", 5n],
      ["b.txt", 5n],
      ["c.txt", 5n],
    ]);
    expect(all.isTruncated).toBe(false);
    const page = await runtime.groups.file.listFile(
      create(ListFileRequestSchema, { ...fileRequest(""), pageSize: 2 }),
      contextFor("listFile"),
    );
    expect(page.files?.map((f) => f.fileName)).toEqual(["a.txt", "b.txt"]);
    expect(page.isTruncated).toBe(true);
    const rest = await runtime.groups.file.listFile(
      create(ListFileRequestSchema, { ...fileRequest(""), pageSize: 2, marker: page.marker }),
      contextFor("listFile"),
    );
    expect(rest.files?.map((f) => f.fileName)).toEqual(["c.txt"]);
  });

  it("reports a file's size and modification time, and deletes it", async () => {
    await put("a.txt", bytes("12345"));
    const meta = await runtime.groups.file.getFileMeta(create(GetFileMetaRequestSchema, fileRequest("a.txt")), contextFor("getFileMeta"));
    expect(meta.size).toBe(5n);
    expect(meta.lastModified).not.toBe("");
    expect(meta.response).toBeDefined();

    await runtime.groups.file.delFile(create(DelFileRequestSchema, fileRequest("a.txt")), contextFor("delFile"));
    await expectError(
      runtime.groups.file.getFileMeta(create(GetFileMetaRequestSchema, fileRequest("a.txt")), contextFor("getFileMeta")),
      Code.NotFound,
      /^get meta of file a.txt in file store files fail, err: /,
    );
  });

  it("keeps the codes of the store's declared errors", async () => {
    await expectError(read("missing.txt"), Code.NotFound, /^get file missing.txt from file store files fail, err: /);
    await expectError(
      runtime.groups.file.delFile(create(DelFileRequestSchema, fileRequest("missing.txt")), contextFor("delFile")),
      Code.NotFound,
      /^delete file missing.txt in file store files fail, err: /,
    );
    await expectError(put("../escape.txt", bytes("x")), Code.InvalidArgument, /^put file \.\.\/escape.txt into file store files fail, err: /);
  });

  it("accepts an upload stream that sends nothing", async () => {
    expect(await runtime.groups.file.putFile(messages(), contextFor("putFile"))).toEqual({});
  });

  it("validates the store and the nested request", async () => {
    await expectError(
      runtime.groups.file.listFile(create(ListFileRequestSchema, {}), contextFor("listFile")),
      Code.InvalidArgument,
      "request can't be nil",
    );
    await expectError(
      runtime.groups.file.delFile(create(DelFileRequestSchema, {}), contextFor("delFile")),
      Code.InvalidArgument,
      "request can't be nil",
    );
    await expectError(read("a.txt", ""), Code.InvalidArgument, "not supported store type: ");
    await expectError(read("a.txt", "nope"), Code.InvalidArgument, "not supported store type: nope");
    // Layotto answers an unknown name the same when no file store is configured at all.
    const bare = await runtimeWith([]);
    await expectError(
      bare.groups.file.getFileMeta(create(GetFileMetaRequestSchema, fileRequest("a.txt")), contextFor("getFileMeta")),
      Code.InvalidArgument,
      "not support store type: files",
    );
  });
});
