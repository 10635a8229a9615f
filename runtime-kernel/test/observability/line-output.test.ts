import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { LineOutput, maxBacklogBytes, type OutputStream } from "../../src/observability/line-output";

/** A stream that keeps what it is handed, with a backlog the test sets. */
class KeptStream implements OutputStream {
  readonly chunks: Buffer[] = [];
  writableLength = 0;
  write(chunk: Uint8Array): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

describe("LineOutput", () => {
  let dir: string;
  let file: string;
  let fd: number;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "line-output-"));
    file = path.join(dir, "out");
    fd = openSync(file, "w");
  });
  afterEach(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes lines and in-place lines to the descriptor, in order, once flushed", () => {
    const stream = new KeptStream();
    const out = new LineOutput(fd, () => stream);
    out.add("first, ü");
    const room = out.reserveLater(16)!;
    const end = room.at + room.buffer.write("in place\n", room.at, "latin1");
    out.commitLater(end);
    out.add("a line that may wait", true);
    expect(readFileSync(file, "utf8")).toBe("");
    out.flush();
    expect(readFileSync(file, "utf8")).toBe("first, ü\nin place\na line that may wait\n");
    expect(stream.chunks).toEqual([]);
  });

  it("writes at once when 32 KB are pending, and a line longer than its buffer on its own", () => {
    const out = new LineOutput(fd, () => new KeptStream());
    const line = "x".repeat(1023);
    for (let i = 0; i < 31; i++) out.add(line, true);
    expect(readFileSync(file, "utf8")).toBe("");
    out.add(line, true);
    expect(readFileSync(file, "utf8")).toBe(`${line}\n`.repeat(32));
    const long = "y".repeat(70_000);
    out.add("before", true);
    out.add(long);
    expect(readFileSync(file, "utf8")).toBe(`${line}\n`.repeat(32) + `before\n${long}\n`);
  });

  it("hands what the descriptor does not take to the stream, and then queues behind it, in order", () => {
    const readOnly = openSync(file, "r");
    try {
      const stream = new KeptStream();
      const out = new LineOutput(readOnly, () => stream);
      out.add("one");
      out.flush();
      expect(stream.text()).toBe("one\n");
      stream.writableLength = 4;
      out.add("two");
      out.flush();
      expect(stream.text()).toBe("one\ntwo\n");
      // The stream's copy is its own: the buffer is reused for the next lines.
      out.add("333");
      out.flush();
      expect(stream.chunks.map(String)).toEqual(["one\n", "two\n", "333\n"]);
    } finally {
      closeSync(readOnly);
    }
  });

  it("drops and counts lines that may wait while the stream is 4 MB behind, keeps the others, and takes them again once it caught up", () => {
    const stream = new KeptStream();
    const out = new LineOutput(fd, () => stream);
    stream.writableLength = maxBacklogBytes;
    out.add("access 1", true);
    expect(out.reserveLater(100)).toBeUndefined();
    out.add("a warning");
    expect(out.dropped).toBe(2);
    stream.writableLength = maxBacklogBytes - 1;
    out.add("access 2", true);
    stream.writableLength = 0;
    out.flush();
    expect(readFileSync(file, "utf8")).toBe("a warning\naccess 2\n");
    expect(out.dropped).toBe(2);
  });

  it("writes what is pending at exit (flushSync)", () => {
    const out = new LineOutput(fd, () => new KeptStream());
    out.add("last words", true);
    out.flushSync();
    expect(readFileSync(file, "utf8")).toBe("last words\n");
  });
});
