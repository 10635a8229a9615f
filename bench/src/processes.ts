import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";

/** Children started here and not yet seen exit; SIGKILLed if this process exits first. */
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** A server script of this folder (reference-server.js, bare-server.js) in a process of its own. */
export interface ScriptServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything it printed on stdout so far (the GC probe, gc-window.ts, writes there). */
  stdout(): string;
  stop(): Promise<void>;
}

/** Starts dist/<script> with node (args after the script, nodeArgs before it); resolves once it printed "port <n>". */
export async function startScriptServer(script: string, timeoutMs = 10_000, args: readonly string[] = [], nodeArgs: readonly string[] = []): Promise<ScriptServer> {
  const child = spawn(process.execPath, [...nodeArgs, path.join(__dirname, script), ...args], { stdio: ["pipe", "pipe", "inherit"] });
  children.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      children.delete(child);
      resolve();
    }),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  let out = "";
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} printed no port within ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.setEncoding("utf8");
      let listening = false;
      child.stdout!.on("data", (chunk: string) => {
        out += chunk;
        const match = listening ? null : /^port (\d+)$/m.exec(out);
        if (match === null) return;
        listening = true;
        clearTimeout(timer);
        resolve(Number(match[1]));
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${script} exited before it listened`));
      });
    });
    return { url: `http://127.0.0.1:${port}`, port, pid: child.pid!, stdout: () => out, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Hands a runtime's stdout to a log collector in a process of its own, pinned to
 * the given CPUs (the load generators' core), which reads the pipe and discards
 * what it reads: `cat` with its stdout on /dev/null. So an access log is written
 * to a pipe as in a container (the container runtime reads it on the node, not in
 * the runtime's CPU share), and neither this process (not pinned) nor a copy of
 * the log in its memory takes CPU from the runtime's core. The runtime's pipe is
 * the same one: this process stops reading it and the collector reads from its
 * other end (child_process passes the pipe's descriptor to it). Resolves once the
 * collector runs; it ends when the runtime closes its stdout. The runtime's
 * stdout() then holds only what it printed before.
 */
export async function collectStdout(runtime: ChildProcess, cpus: string): Promise<void> {
  const stdout = runtime.stdout!;
  stdout.removeAllListeners("data");
  stdout.pause();
  const collector = spawn("taskset", ["-c", cpus, "cat"], { stdio: [stdout, "ignore", "inherit"] });
  children.add(collector);
  collector.once("exit", () => children.delete(collector));
  await new Promise<void>((resolve, reject) => {
    collector.once("spawn", resolve);
    collector.once("error", reject);
  });
  // The collector has its own descriptor of the pipe: this one is closed (so that the runtime's
  // exit is seen, which waits for its stdio to close).
  stdout.destroy();
}

