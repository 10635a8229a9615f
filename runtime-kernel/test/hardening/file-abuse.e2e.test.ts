/**
 * Issue 11, findings 3 and 8: GetFile's file handle is closed when a client stops
 * reading and vanishes, and symlinks in the file root cannot be used to read,
 * write or delete outside it.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetFileRequestSchema } from "@ottavo/generated/spec/proto/runtime/v1/runtime_pb";
import { eventually, openFdCount, startRuntime, type RunningRuntime } from "@ottavo/test-support";
import { postConnectJson } from "../e2e/support";

jest.setTimeout(30_000);

let runtime: RunningRuntime;
let root: string;
let outside: string;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-files-"));
  root = path.join(dir, "root");
  outside = path.join(dir, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(path.join(root, "big.bin"), Buffer.alloc(20 * 1024 * 1024, 7));
  writeFileSync(path.join(outside, "secret.txt"), "outside the root");
  symlinkSync(path.join(outside, "secret.txt"), path.join(root, "link.txt"));
  symlinkSync(outside, path.join(root, "linkdir"));
  runtime = await startRuntime({
    config: `api: { address: 127.0.0.1:0 }
actuator: { address: 127.0.0.1:0 }
components:
  file:
    files: { type: local, metadata: { rootDir: ${root} } }
`,
  });
});

afterAll(async () => {
  if (runtime) expect(await runtime.stop()).toBe(0);
});

/** Starts GetFile of big.bin, reads its first bytes, then stops reading and vanishes (the connection is destroyed). */
function stalledDownload(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => socket });
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ":path": "/spec.proto.runtime.v1.Runtime/GetFile", "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => undefined);
    stream.once("data", () => {
      stream.pause();
      // The client is gone without a word: no RST_STREAM, no GOAWAY.
      setImmediate(() => {
        socket.destroy();
        resolve();
      });
    });
    stream.once("close", () => reject(new Error("the download ended before the client stalled")));
    const message = toBinary(GetFileRequestSchema, create(GetFileRequestSchema, { storeName: "files", name: "big.bin" }));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(message.length, 1);
    stream.end(Buffer.concat([head, message]));
  });
}

it("closes the file handle of a download whose client stopped reading and vanished (finding 3)", async () => {
  const pid = runtime.process.pid!;
  const baseline = openFdCount(pid);
  for (let i = 0; i < 20; i++) await stalledDownload(runtime.apiPort);
  await eventually(() => openFdCount(pid) <= baseline + 2);
});

describe("symlinks in the file root (finding 8)", () => {
  const call = (rpc: string, body: object) => postConnectJson(runtime.apiUrl, rpc, body);

  it("GetFile and GetFileMeta refuse a symlink to a file outside", async () => {
    const got = await fetch(`${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/GetFile`, {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: (() => {
        const json = Buffer.from(JSON.stringify({ storeName: "files", name: "link.txt" }));
        const head = Buffer.alloc(5);
        head.writeUInt32BE(json.length, 1);
        return Buffer.concat([head, json]);
      })(),
    });
    const text = Buffer.from(await got.arrayBuffer()).toString();
    expect(text).not.toContain(Buffer.from("outside the root").toString("base64"));
    expect(text).toMatch(/invalid_argument|symbolic link/);
    const meta = await call("GetFileMeta", { request: { storeName: "files", name: "link.txt" } });
    expect(meta.status).toBe(400);
  });

  it("GetFile refuses a path through a symlinked directory", async () => {
    const meta = await call("GetFileMeta", { request: { storeName: "files", name: "linkdir/secret.txt" } });
    expect(meta.status).toBe(400);
  });

  it("DelFile through a symlinked directory deletes nothing outside", async () => {
    const deleted = await call("DelFile", { request: { storeName: "files", name: "linkdir/secret.txt" } });
    expect(deleted.status).toBe(400);
    expect(existsSync(path.join(outside, "secret.txt"))).toBe(true);
  });

  it("PutFile through a symlinked directory writes nothing outside", async () => {
    const json = Buffer.from(JSON.stringify({ storeName: "files", name: "linkdir/planted.txt", data: Buffer.from("x").toString("base64") }));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(json.length, 1);
    const end = Buffer.from([2, 0, 0, 0, 2, 0x7b, 0x7d]);
    // PutFile is client streaming: over HTTP/2 (Connect streaming needs it), with fetch's h2-less HTTP/1.1 it is half-duplex and still fine.
    const put = await fetch(`${runtime.apiUrl}/spec.proto.runtime.v1.Runtime/PutFile`, {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: Buffer.concat([head, json, end]),
    });
    await put.arrayBuffer();
    expect(existsSync(path.join(outside, "planted.txt"))).toBe(false);
    expect(readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("outside the root");
  });

  it("ListFile leaves symlinks out", async () => {
    const listed = await call("ListFile", { request: { storeName: "files", name: "" } });
    expect(JSON.parse(listed.text).files.map((f: { fileName: string }) => f.fileName)).toEqual(["big.bin"]);
  });
});
