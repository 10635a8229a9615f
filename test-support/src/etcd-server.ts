import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./eventually";
import { freePorts } from "./free-ports";
import { kill } from "./redis-server";

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

/** How startEtcd serves its client endpoint. */
export interface EtcdServerOptions {
  /** Serve the client endpoint over TLS with these PEM files (see makeTestCertificates). */
  readonly tls?: {
    readonly cert: string;
    readonly key: string;
    /** With it, clients must present a certificate this CA signed (--client-cert-auth). */
    readonly clientCa?: string;
  };
}

const host = "127.0.0.1";
const started = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of started) child.kill("SIGKILL");
});

/**
 * Starts Debian's etcd (`make test-services` installs etcd-server) as a
 * one-member cluster on three free 127.0.0.1 ports (client, peer, and a plain
 * HTTP one for /health), data in a temp folder, and resolves once /health answers
 * true. The client endpoint speaks TLS when options.tls says so. Register remove() in afterAll.
 */
export async function startEtcd(options: EtcdServerOptions = {}): Promise<EtcdServer> {
  const dir = mkdtempSync(join(tmpdir(), "ottavo-etcd-"));
  const [client, peer, health] = await freePorts(3, host);
  const ports: Ports = { client: client!, peer: peer!, health: health! };
  const launch = () => launchEtcd(dir, ports, options);
  let child: ChildProcess | undefined = await launch();
  const server: EtcdServer = {
    endpoint: `${host}:${ports.client}`,
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined) return;
      running.kill("SIGCONT"); // a paused server would not act on SIGTERM
      await kill(running);
    },
    async restart() {
      await server.stop();
      child = await launch();
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

interface Ports {
  readonly client: number;
  readonly peer: number;
  /** Plain HTTP /health (--listen-metrics-urls), readable whatever the client endpoint asks of clients. */
  readonly health: number;
}

async function launchEtcd(dir: string, ports: Ports, options: EtcdServerOptions): Promise<ChildProcess> {
  const { tls } = options;
  const client = `${tls ? "https" : "http"}://${host}:${ports.client}`;
  const peer = `http://${host}:${ports.peer}`;
  const health = `http://${host}:${ports.health}`;
  const tlsArgs = tls
    ? ["--cert-file", tls.cert, "--key-file", tls.key, ...(tls.clientCa ? ["--trusted-ca-file", tls.clientCa, "--client-cert-auth"] : [])]
    : [];
  const child = spawn(
    "etcd",
    [
      ...tlsArgs,
      "--listen-metrics-urls", health,
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
    const healthy = await fetch(`${health}/health`, { signal: AbortSignal.timeout(1_000) })
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
