import * as path from "node:path";

/** Node's arguments that load the probe (gc-window.ts) into a measured server. */
export const gcWindowNodeArgs = ["-r", path.join(__dirname, "gc-window.js")];

/** What gc-window.ts measured over one window. */
export interface GcSummary {
  readonly allocatedBytes: number;
  readonly scavenges: number;
  /** Mark-compacts and the other full collections. */
  readonly otherCollections: number;
  /** The longest young-generation pause, in ms. */
  readonly maxScavengeMs: number;
}

/**
 * Runs the work inside a window of the server's probe (SIGUSR2 before and after)
 * and resolves with the work's result and the line the probe printed on stdout.
 */
export async function inGcWindow<T>(server: { pid: number; stdout(): string }, work: () => Promise<T>): Promise<{ result: T; gc: GcSummary }> {
  const from = server.stdout().length;
  process.kill(server.pid, "SIGUSR2");
  const result = await work();
  process.kill(server.pid, "SIGUSR2");
  const line = /^gc-window (\{.*\})$/m;
  for (let waited = 0; !line.test(server.stdout().slice(from)); waited += 20) {
    if (waited > 10_000) throw new Error(`pid ${server.pid} printed no gc-window line: was it started with ${gcWindowNodeArgs.join(" ")}?`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { result, gc: JSON.parse(line.exec(server.stdout().slice(from))![1]!) as GcSummary };
}
