import { spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { batchBytes, LineOutput, maxBacklogBytes, type OutputStream } from "../../src/observability/line-output";

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

/**
 * The write end of a real pipe (non-blocking, as Node makes stdout's) to a child
 * that reads nothing: `closeReader` has the child close its end (the pipe then
 * has no reader), `exit` ends the child.
 */
async function pipeToChild(): Promise<{ fd: number; closeReader: () => Promise<void>; exit: () => Promise<void> }> {
  const child = spawn(process.execPath, ["-e", `process.on("SIGUSR2", () => { require("fs").closeSync(0); process.stdout.write("closed"); }); process.stdout.write("ready"); setTimeout(() => {}, 60000);`], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  await once(child.stdout!, "data");
  const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  return {
    fd,
    closeReader: async () => {
      child.kill("SIGUSR2");
      await once(child.stdout!, "data");
    },
    exit: async () => {
      child.kill("SIGKILL");
      await once(child, "exit");
    },
  };
}

/** Fills the pipe until it takes no more (EAGAIN). */
function fill(fd: number): void {
  const chunk = Buffer.alloc(4096, 120);
  for (;;) {
    try {
      writeSync(fd, chunk);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe("EAGAIN");
      return;
    }
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

  it("writes at once when 60 KB are pending, and a line longer than its buffer on its own", () => {
    expect(batchBytes).toBe(60 * 1024);
    const out = new LineOutput(fd, () => new KeptStream());
    const line = "x".repeat(1023);
    for (let i = 0; i < 59; i++) out.add(line, true);
    expect(readFileSync(file, "utf8")).toBe("");
    out.add(line, true);
    expect(readFileSync(file, "utf8")).toBe(`${line}\n`.repeat(60));
    const long = "y".repeat(70_000);
    out.add("before", true);
    out.add(long);
    expect(readFileSync(file, "utf8")).toBe(`${line}\n`.repeat(60) + `before\n${long}\n`);
  });

  it("hands what the descriptor does not take (a full pipe) to the stream, and then queues behind it, in order", async () => {
    const pipe = await pipeToChild();
    try {
      fill(pipe.fd);
      const stream = new KeptStream();
      const out = new LineOutput(pipe.fd, () => stream);
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
      expect(out.dropped).toBe(0);
    } finally {
      await pipe.exit();
    }
  });

  it("gives up on a pipe whose reader is gone (EPIPE): no error, every line from then on dropped and counted, and it says so once", async () => {
    const pipe = await pipeToChild();
    try {
      const gone: string[] = [];
      const stream = new KeptStream();
      const out = new LineOutput(pipe.fd, () => stream, maxBacklogBytes, (error) => gone.push((error as NodeJS.ErrnoException).code ?? ""));
      out.add("read");
      out.flush();
      await pipe.closeReader();
      out.add("lost 1");
      out.add("lost 2", true);
      out.flush();
      expect(gone).toEqual(["EPIPE"]);
      expect(out.dropped).toBe(2);
      out.add("lost 3");
      expect(out.reserveLater(100)).toBeUndefined();
      out.flush();
      out.flushSync();
      expect(out.dropped).toBe(4);
      expect(gone).toEqual(["EPIPE"]);
      // Nothing was handed to the stream, which would only fail again.
      expect(stream.chunks).toEqual([]);
    } finally {
      await pipe.exit();
    }
  });

  it("gives up when the stream reports that a write it held failed, dropping what is pending", () => {
    let fail: ((error: Error) => void) | undefined;
    const stream = Object.assign(new KeptStream(), {
      on(_event: "error", listener: (error: Error) => void) {
        fail = listener;
      },
    });
    const gone: Error[] = [];
    const out = new LineOutput(fd, () => stream, maxBacklogBytes, (error) => gone.push(error));
    out.add("written");
    out.flush();
    out.add("pending", true);
    fail!(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    out.add("after");
    out.flush();
    expect(readFileSync(file, "utf8")).toBe("written\n");
    expect(out.dropped).toBe(2);
    expect(gone).toHaveLength(1);
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
