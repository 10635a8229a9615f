import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { statusOf, type StatusName } from "@ottavo/component-runtime";
import { PermissionDeniedError, type FileStore } from "@ottavo/generated/components/file";
import { chunkSize, localAdapters, localFileAdapter } from "../src";

let configDir: string;
let store: FileStore;

const context = () => ({ componentName: "files", appId: "app", configDir, settings: {} });
const req = (name: string) => ({ name, metadata: {} });

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const all: Uint8Array[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

async function* streamOf(...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

async function codeOf(promise: Promise<unknown>): Promise<StatusName> {
  try {
    await promise;
  } catch (err) {
    return statusOf(err);
  }
  throw new Error("expected a rejection");
}

async function put(name: string, text: string): Promise<void> {
  await store.put(req(name), streamOf(Buffer.from(text)));
}

beforeEach(async () => {
  configDir = await fs.mkdtemp(path.join(os.tmpdir(), "ottavo-local-"));
  store = await localFileAdapter.create({ rootDir: "data" }, context());
});

afterEach(async () => {
  await store.close();
  await fs.rm(configDir, { recursive: true, force: true });
});

test("is registered as the 'local' file adapter with no features", () => {
  expect(localAdapters.map((a) => `${a.capability}/${a.type}`)).toContain("file/local");
  expect(store.features.size).toBe(0);
});

test("creates rootDir relative to the config folder", async () => {
  expect((await fs.stat(path.join(configDir, "data"))).isDirectory()).toBe(true);
  await expect(store.health!()).resolves.toBeUndefined();
});

test("a start on a rootDir that is a file fails naming it", async () => {
  await fs.writeFile(path.join(configDir, "plain"), "x");
  await expect(localFileAdapter.create({ rootDir: "plain" }, context())).rejects.toThrow(/rootDir .*plain/);
});

test("put then get round-trips a multi-chunk file in 100 KiB chunks", async () => {
  const content = Buffer.alloc(250 * 1024);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7) % 251;
  // Uneven input chunks, to show the store re-chunks.
  await store.put(req("dir/big.bin"), streamOf(content.subarray(0, 1000), content.subarray(1000)));

  const chunks = await collect(store.get(req("dir/big.bin")));
  expect(chunks.map((c) => c.byteLength)).toEqual([chunkSize, chunkSize, 50 * 1024]);
  expect(Buffer.concat(chunks).equals(content)).toBe(true);
  expect((await fs.readFile(path.join(configDir, "data", "dir", "big.bin"))).equals(content)).toBe(true);
});

test("put replaces an existing file", async () => {
  await put("a.txt", "first version");
  await put("a.txt", "second");
  expect(Buffer.concat(await collect(store.get(req("a.txt")))).toString()).toBe("second");
});

test("an empty file reads back as no chunks", async () => {
  await store.put(req("empty"), streamOf());
  expect(await collect(store.get(req("empty")))).toEqual([]);
  expect((await store.stat(req("empty"))).size).toBe(0n);
});

test("put from a failing stream leaves no file and no temp file, and passes the stream's error on", async () => {
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield Buffer.alloc(1000, 1);
    throw new Error("client went away");
  }
  await expect(store.put(req("sub/broken.bin"), failing())).rejects.toThrow("client went away");
  await expect(fs.readdir(path.join(configDir, "data", "sub"))).resolves.toEqual([]);
  expect(await codeOf(store.stat(req("sub/broken.bin")))).toBe("NOT_FOUND");
});

test("a failing put keeps the previous version whole", async () => {
  await put("keep.txt", "old content");
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield Buffer.from("new");
    throw new Error("stream broke");
  }
  await expect(store.put(req("keep.txt"), failing())).rejects.toThrow("stream broke");
  expect(Buffer.concat(await collect(store.get(req("keep.txt")))).toString()).toBe("old content");
});

test("get, stat and delete of a missing file answer NOT_FOUND; get fails before any chunk", async () => {
  const iterator = store.get(req("nope.txt"))[Symbol.asyncIterator]();
  expect(await codeOf(iterator.next())).toBe("NOT_FOUND");
  expect(await codeOf(store.stat(req("nope.txt")))).toBe("NOT_FOUND");
  expect(await codeOf(store.delete(req("nope.txt")))).toBe("NOT_FOUND");
  expect(await codeOf(store.list({ name: "no-dir", pageSize: 10, marker: "", metadata: {} }))).toBe("NOT_FOUND");
});

test("names that leave the root are refused with INVALID_ARGUMENT", async () => {
  await fs.writeFile(path.join(configDir, "outside.txt"), "secret");
  for (const name of ["../outside.txt", "a/../../outside.txt", "/etc/passwd", "a\0b", "", "a//b", "./a", "a\\..\\b"]) {
    expect(await codeOf(collect(store.get(req(name))))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(store.put(req(name), streamOf(Buffer.from("x"))))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(store.delete(req(name)))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(store.stat(req(name)))).toBe("INVALID_ARGUMENT");
  }
  expect(await codeOf(store.list({ name: "..", pageSize: 10, marker: "", metadata: {} }))).toBe("INVALID_ARGUMENT");
  expect(await fs.readFile(path.join(configDir, "outside.txt"), "utf8")).toBe("secret");
});

test("directories and files cannot stand in for each other: INVALID_ARGUMENT", async () => {
  await put("dir/inner.txt", "x");
  expect(await codeOf(collect(store.get(req("dir"))))).toBe("INVALID_ARGUMENT");
  expect(await codeOf(store.stat(req("dir")))).toBe("INVALID_ARGUMENT");
  expect(await codeOf(store.delete(req("dir")))).toBe("INVALID_ARGUMENT");
  expect(await codeOf(store.put(req("dir"), streamOf(Buffer.from("x"))))).toBe("INVALID_ARGUMENT");
  expect(await codeOf(store.put(req("dir/inner.txt/x"), streamOf(Buffer.from("x"))))).toBe("INVALID_ARGUMENT");
  expect(await codeOf(store.put(req("dir/inner.txt/x/y"), streamOf(Buffer.from("x"))))).toBe("INVALID_ARGUMENT");
  expect(await codeOf(store.list({ name: "dir/inner.txt", pageSize: 10, marker: "", metadata: {} }))).toBe(
    "INVALID_ARGUMENT",
  );
});

test("a folder the file system keeps unchanged (chattr +i, binding root too) refuses put and delete with PermissionDenied", async () => {
  await put("kept.txt", "kept");
  const data = path.join(configDir, "data");
  execFileSync("chattr", ["+i", data]);
  try {
    for (const call of [() => store.delete(req("kept.txt")), () => put("new.txt", "x"), () => put("kept.txt", "replaced")]) {
      const error = await call().then(
        () => new Error("the call succeeded in an immutable folder"),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect((error as Error).message).toContain("the file system refuses it (EPERM)");
    }
  } finally {
    execFileSync("chattr", ["-i", data]);
  }
  // Nothing changed, and no temp file was left behind.
  expect(await fs.readdir(data)).toEqual(["kept.txt"]);
  expect(await fs.readFile(path.join(data, "kept.txt"), "utf8")).toBe("kept");
});

test("stat reports size and an RFC 3339 modification time, no metadata", async () => {
  const before = Date.now() - 1000;
  await put("s.txt", "hello");
  const meta = await store.stat(req("s.txt"));
  expect(meta.size).toBe(5n);
  expect(meta.lastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  expect(Date.parse(meta.lastModified)).toBeGreaterThanOrEqual(before);
  expect(meta.metadata).toEqual({});
});

test("delete removes the file", async () => {
  await put("gone.txt", "x");
  await store.delete(req("gone.txt"));
  expect(await codeOf(store.stat(req("gone.txt")))).toBe("NOT_FOUND");
});

test("list pages through the files directly in a directory, in name order, with a marker", async () => {
  for (const name of ["d/c.txt", "d/a.txt", "d/e.txt", "d/b.txt", "d/d.txt", "d/sub/deep.txt", "top.txt"]) {
    await put(name, name);
  }
  const page = (marker: string) => store.list({ name: "d", pageSize: 2, marker, metadata: {} });

  const first = await page("");
  expect(first.files.map((f) => f.name)).toEqual(["d/a.txt", "d/b.txt"]);
  expect(first).toMatchObject({ truncated: true, marker: "d/b.txt" });
  expect(first.files[0]).toMatchObject({ size: 7n, metadata: {} });

  const second = await page(first.marker);
  expect(second.files.map((f) => f.name)).toEqual(["d/c.txt", "d/d.txt"]);
  expect(second.truncated).toBe(true);

  const third = await page(second.marker);
  expect(third.files.map((f) => f.name)).toEqual(["d/e.txt"]);
  expect(third).toMatchObject({ truncated: false, marker: "" });
});

test("list of the root shows its files only, and a page that ends exactly is not truncated", async () => {
  await put("one.txt", "1");
  await put("two.txt", "2");
  await put("nested/three.txt", "3");
  const result = await store.list({ name: "", pageSize: 2, marker: "", metadata: {} });
  expect(result.files.map((f) => f.name)).toEqual(["one.txt", "two.txt"]);
  expect(result.truncated).toBe(false);
});

test("list does not show a file still being written", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  async function* slow(): AsyncGenerator<Uint8Array> {
    yield Buffer.from("part");
    await gate;
  }
  const writing = store.put(req("w/slow.txt"), slow());
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect((await store.list({ name: "w", pageSize: 10, marker: "", metadata: {} })).files).toEqual([]);
  expect(await codeOf(store.stat(req("w/slow.txt")))).toBe("NOT_FOUND");
  release();
  await writing;
  expect((await store.list({ name: "w", pageSize: 10, marker: "", metadata: {} })).files.map((f) => f.name)).toEqual([
    "w/slow.txt",
  ]);
});
