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
  stop(): Promise<void>;
}

/** Starts dist/<script> with node; resolves once it printed "port <n>". */
export async function startScriptServer(script: string, timeoutMs = 10_000): Promise<ScriptServer> {
  const child = spawn(process.execPath, [path.join(__dirname, script)], { stdio: ["pipe", "pipe", "inherit"] });
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
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`${script} printed no port within ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (chunk: string) => {
        out += chunk;
        const match = /^port (\d+)$/m.exec(out);
        if (match === null) return;
        clearTimeout(timer);
        resolve(Number(match[1]));
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${script} exited before it listened`));
      });
    });
    child.stdout!.resume();
    return { url: `http://127.0.0.1:${port}`, port, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
