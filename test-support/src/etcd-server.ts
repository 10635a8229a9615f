import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./eventually";
import { freePort, kill } from "./redis-server";

/** An etcd this process started, single member, on loopback ports of its own. */
export interface EtcdServer {
  /** host:port of the client endpoint, as Layotto's `endpoints` and `address` take it. */
  readonly endpoint: string;
  /** Kills the server (data kept) and resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data (after stop() or crash(), or stopping it first). */
  restart(): Promise<void>;
  /** Kills it with SIGKILL (no goodbye to clients; data kept) and resolves once it has exited. */
  crash(): Promise<void>;
  /** Freezes it with SIGSTOP and resolves once every thread has stopped: connections stay open and nothing answers. */
  pause(): Promise<void>;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  /** Stops it and removes its data; calling it again does nothing. */
  remove(): Promise<void>;
}

const host = "127.0.0.1";
const started = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of started) child.kill("SIGKILL");
});

/**
 * Starts Debian's etcd (`make test-services` installs etcd-server) as a
 * one-member cluster on two free 127.0.0.1 ports (client and peer), data in a
 * temp folder, and resolves once /health answers true. Register remove() in afterAll.
 */
export async function startEtcd(): Promise<EtcdServer> {
  const dir = mkdtempSync(join(tmpdir(), "ottavo-etcd-"));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  let child: ChildProcess | undefined = await launch(dir, clientPort, peerPort);
  const server: EtcdServer = {
    endpoint: `${host}:${clientPort}`,
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined) return;
      running.kill("SIGCONT"); // a paused server would not act on SIGTERM
      await kill(running);
    },
    async restart() {
      await server.stop();
      child = await launch(dir, clientPort, peerPort);
    },
    async crash() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
      running.kill("SIGKILL");
      await exited;
    },
    async pause() {
      const running = child;
      if (running?.pid === undefined) return;
      running.kill("SIGSTOP");
      // The signal takes effect when each thread is next scheduled: wait until /proc says all are stopped.
      await eventually(() => threadStates(running.pid!).every((state) => state === "T" || state === "t"), 10_000, 5);
    },
    resume() {
      child?.kill("SIGCONT");
    },
    async remove() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

async function launch(dir: string, clientPort: number, peerPort: number): Promise<ChildProcess> {
  const client = `http://${host}:${clientPort}`;
  const peer = `http://${host}:${peerPort}`;
  const child = spawn(
    "etcd",
    [
      "--name", "ottavo-test",
      "--data-dir", join(dir, "data"),
      "--listen-client-urls", client,
      "--advertise-client-urls", client,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", `ottavo-test=${peer}`,
      "--log-level", "error",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  started.add(child);
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(-8_192)));
  let exited: Error | undefined;
  child.once("error", (error) => (exited = new Error(`etcd could not be started: ${error.message}; run make test-services`)));
  child.once("exit", (code, signal) => {
    started.delete(child);
    exited ??= new Error(`etcd exited (${signal ?? `code ${code}`}) before it was healthy:\n${output}`);
  });
  const deadline = Date.now() + 15_000;
  while (exited === undefined) {
    const healthy = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1_000) })
      .then(async (response) => response.ok && ((await response.json()) as { health?: string }).health === "true")
      .catch(() => false);
    if (healthy) return child;
    if (Date.now() > deadline) {
      await kill(child);
      throw new Error(`etcd on ${client} was not healthy within 15 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw exited;
}

/** The scheduler state letter (R, S, T, ...) of each thread of a process, from /proc. */
function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    // The state follows the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  });
}
