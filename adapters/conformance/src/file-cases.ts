import { fileFeatures, type FileStore } from "@ottavo/generated/components/file";
import { check, equal, fail, rejectsWith, sameBytes, sameData, succeeds, utf8 } from "./assertions";
import type { ConformanceCase, ConformanceSuite } from "./conformance-case";

/**
 * The file suite, from spec/components/file.cap: a put file reads back whole, in
 * any chunking; put replaces; a put whose data fails leaves no file; stat and list
 * see what was put (list pages in name order, with a marker); delete removes; a
 * missing file is NOT_FOUND for get, stat and delete; a name that leaves the root is
 * INVALID_ARGUMENT. Every name is below a directory unique to the case.
 */

type Case = ConformanceCase<FileStore, never>;

const core: readonly Case[] = [
  {
    name: "a file put in several chunks (one empty) reads back byte for byte",
    async run(store, env) {
      const name = `${env.prefix}dir/a.bin`;
      const chunks = [utf8("hello, "), new Uint8Array(0), Uint8Array.from([0, 255, 10, 13]), utf8("é and more")];
      await put(store, name, chunks);
      sameBytes(await read(store, name), concat(chunks), `contents of '${name}'`);
    },
  },
  {
    name: "a large file (3 MiB) reads back whole",
    async run(store, env) {
      const name = `${env.prefix}dir/large.bin`;
      const block = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) % 251);
      const chunks = Array.from({ length: 48 }, () => block);
      await put(store, name, chunks);
      sameBytes(await read(store, name), concat(chunks), `contents of '${name}'`);
    },
  },
  {
    name: "put replaces an existing file whole",
    async run(store, env) {
      const name = `${env.prefix}dir/replaced.txt`;
      await put(store, name, [utf8("a longer first version")]);
      await put(store, name, [utf8("short")]);
      sameBytes(await read(store, name), utf8("short"), `contents of '${name}' after the second put`);
    },
  },
  {
    name: "a put whose data fails part-way leaves no file (whole or not at all)",
    async run(store, env) {
      const name = `${env.prefix}dir/partial.txt`;
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield utf8("start");
        throw new Error("the caller's stream broke");
      }
      const outcome = await store.put({ name, metadata: {} }, failing()).then(
        () => "resolved",
        () => "rejected",
      );
      equal(outcome, "rejected", `put of '${name}' whose data stream throws`);
      await rejectsWith(store.stat({ name, metadata: {} }), ["NOT_FOUND"], `stat '${name}' after a failed put`);
    },
  },
  {
    name: "get, stat and delete of a missing file are NOT_FOUND",
    async run(store, env) {
      const name = `${env.prefix}dir/missing.txt`;
      await rejectsWith(read(store, name), ["NOT_FOUND"], `get '${name}'`);
      await rejectsWith(store.stat({ name, metadata: {} }), ["NOT_FOUND"], `stat '${name}'`);
      await rejectsWith(store.delete({ name, metadata: {} }), ["NOT_FOUND"], `delete '${name}'`);
    },
  },
  {
    name: "stat gives the size and an RFC 3339 modification time",
    async run(store, env) {
      const name = `${env.prefix}dir/sized.txt`;
      const before = Date.now();
      await put(store, name, [utf8("12345"), utf8("678")]);
      const meta = await succeeds(store.stat({ name, metadata: {} }), `stat '${name}'`);
      equal(Number(meta.size), 8, `size of '${name}'`);
      const modified = Date.parse(meta.lastModified);
      check(!Number.isNaN(modified), `lastModified of '${name}': expected RFC 3339 text, got '${meta.lastModified}'`);
      // File systems keep whole seconds on some platforms; a minute of slack for clocks.
      check(modified >= before - 60_000, `lastModified of '${name}' (${meta.lastModified}) is before the put`);
    },
  },
  {
    name: "delete removes the file: stat is then NOT_FOUND and it is no longer listed",
    async run(store, env) {
      const dir = `${env.prefix}dir`;
      const name = `${dir}/gone.txt`;
      await put(store, name, [utf8("x")]);
      await put(store, `${dir}/kept.txt`, [utf8("y")]);
      await succeeds(store.delete({ name, metadata: {} }), `delete '${name}'`);
      await rejectsWith(store.stat({ name, metadata: {} }), ["NOT_FOUND"], `stat '${name}' after delete`);
      const page = await succeeds(store.list({ name: dir, pageSize: 100, marker: "", metadata: {} }), `list '${dir}'`);
      sameData(
        page.files.map((f) => f.name),
        [`${dir}/kept.txt`],
        `files listed in '${dir}' after deleting '${name}'`,
      );
    },
  },
  {
    name: "list pages through a directory in name order, with sizes, a marker and truncated",
    async run(store, env) {
      const dir = `${env.prefix}dir`;
      const names = ["c.txt", "a.txt", "e.txt", "b.txt", "d.txt"];
      for (const [i, n] of names.entries()) await put(store, `${dir}/${n}`, [utf8("x".repeat(i + 1))]);
      const seen: string[] = [];
      let marker = "";
      for (let page = 1; ; page++) {
        if (page > 5) fail(`list '${dir}' with pageSize 2: more than 5 pages for 5 files`);
        const result = await succeeds(store.list({ name: dir, pageSize: 2, marker, metadata: {} }), `list '${dir}' page ${page}`);
        check(result.files.length <= 2, `list '${dir}' page ${page}: ${result.files.length} files on a page of 2`);
        for (const f of result.files) {
          const i = names.indexOf(f.name.slice(dir.length + 1));
          check(i >= 0, `list '${dir}' page ${page}: unexpected file '${f.name}'`);
          equal(Number(f.size), i + 1, `size of '${f.name}' in the listing`);
        }
        seen.push(...result.files.map((f) => f.name));
        if (!result.truncated) break;
        check(result.marker !== "", `list '${dir}' page ${page}: truncated without a marker`);
        marker = result.marker;
      }
      sameData(seen, [...names].sort().map((n) => `${dir}/${n}`), `every file of '${dir}', in name order, across pages`);
    },
  },
  {
    name: "a name that leaves the store's root is INVALID_ARGUMENT, for put and get",
    async run(store, env) {
      const name = `../${env.prefix}escape.txt`;
      await rejectsWith(store.put({ name, metadata: {} }, chunksOf([utf8("x")])), ["INVALID_ARGUMENT"], `put '${name}'`);
      await rejectsWith(read(store, name), ["INVALID_ARGUMENT"], `get '${name}'`);
    },
  },
];

export const fileCases: { readonly core: readonly Case[] } = { core };

export const fileSuite: ConformanceSuite<"file"> = { capability: "file", features: fileFeatures, cases: fileCases };

async function* chunksOf(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

async function put(store: FileStore, name: string, chunks: readonly Uint8Array[]): Promise<void> {
  await succeeds(store.put({ name, metadata: {} }, chunksOf(chunks)), `put '${name}'`);
}

/** The whole file, from get's stream; rejects as get does. */
async function read(store: FileStore, name: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.get({ name, metadata: {} })) chunks.push(chunk);
  return concat(chunks);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) whole.set(c, (at += c.length) - c.length);
  return whole;
}
