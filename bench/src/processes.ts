import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";

/** Children started here and not yet seen exit; SIGKILLed if this process exits first. */
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** The baseline server of bare-server.ts in a process of its own, like the runtime. */
export async function startBareServer(timeoutMs = 10_000): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(__dirname, "bare-server.js")], { stdio: ["pipe", "pipe", "inherit"] });
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
      const timer = setTimeout(() => reject(new Error(`the bare server printed no port within ${timeoutMs} ms`)), timeoutMs);
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
        reject(new Error("the bare server exited before it listened"));
      });
    });
    child.stdout!.resume();
    return { url: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
