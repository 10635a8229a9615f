import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { freePort } from "./free-ports";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A redis-server this process started, on a loopback port of its own. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** redis://[:password@]127.0.0.1:<port> */
  readonly url: string;
  /** Kills the server and resolves once it has exited; calling it again does nothing. */
  stop(): Promise<void>;
  /**
   * Starts the server again on the same port (after stop() or crash(), or stopping
   * it first). Data is gone, unless the server was started with `appendOnly` and
   * not stop()ped: then it reads its append-only file from the same folder.
   */
  restart(): Promise<void>;
  /** Kills the server with SIGKILL (no shutdown, no last write) and resolves once it has exited; the folder stays for restart(). */
  crash(): Promise<void>;
}

export interface RedisServerOptions {
  /** Redis's notify-keyspace-events setting, e.g. "KEA"; off when absent. */
  notifyKeyspaceEvents?: string;
  /** Makes the server require this password (requirepass). */
  password?: string;
  /** How long start-up may take before it fails; 10 s by default. */
  startTimeoutMs?: number;
  /**
   * Persistence for crash tests: appendonly yes with appendfsync always, so every
   * write Redis acknowledged survives kill -9 and a restart(). Off by default
   * (no persistence at all).
   */
  appendOnly?: boolean;
}

/**
 * Starts redis-server (from the system, `make test-services` installs it) on a free
 * 127.0.0.1 port with persistence off (unless `appendOnly`), and resolves once it answers PING. Register
 * `stop()` in afterAll; servers still running when the process exits are killed
 * then, so a failed test leaves no redis-server behind.
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "ottavo-redis-"));
  tempDirs.add(dir);
  // Another process may take the port between our probe and redis's bind: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const child = await launch(port, dir, options);
      return new ManagedRedis(port, dir, options, child);
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= 5) {
        removeDir(dir);
        throw error;
      }
    }
  }
}

const host = "127.0.0.1";

class ManagedRedis implements RedisServer {
  readonly host = host;
  readonly url: string;

  constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: RedisServerOptions,
    private child: ChildProcess | undefined,
  ) {
    const auth = options.password === undefined ? "" : `:${encodeURIComponent(options.password)}@`;
    this.url = `redis://${auth}${host}:${port}`;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child !== undefined) await kill(child);
    removeDir(this.dir);
  }

  async crash(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
    running.delete(child);
  }

  async restart(): Promise<void> {
    const running = this.child;
    this.child = undefined;
    if (running !== undefined) await kill(running);
    // The old socket may linger for a moment after exit; retry the same port briefly.
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        this.child = await launch(this.port, this.dir, this.options);
        return;
      } catch (error) {
        if (!(error instanceof PortInUseError) || Date.now() > deadline) throw error;
        await delay(100);
      }
    }
  }
}

class PortInUseError extends Error {}

/** Every redis-server this process started and has not seen exit. */
const running = new Set<ChildProcess>();
/** Working folders of servers not stopped yet (redis writes nothing there with persistence off, but may). */
const tempDirs = new Set<string>();

function removeDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = () => {
    for (const child of running) child.kill("SIGKILL");
    for (const dir of tempDirs) removeDir(dir);
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      killAll();
      process.removeListener(signal, onSignal);
      // Someone else handles the signal: leave the decision to exit to them.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Spawns redis-server on port and resolves once it answers PING; rejects if it exits first. */
async function launch(port: number, dir: string, options: RedisServerOptions): Promise<ChildProcess> {
  installExitHooks();
  // stop() removes the folder; a restart makes it again.
  mkdirSync(dir, { recursive: true });
  const args = [
    "--bind", host,
    "--port", String(port),
    "--protected-mode", "yes",
    "--save", "",
    "--appendonly", options.appendOnly === true ? "yes" : "no",
    ...(options.appendOnly === true ? ["--appendfsync", "always"] : []),
    "--daemonize", "no",
    "--dir", dir,
    "--logfile", "",
  ];
  if (options.notifyKeyspaceEvents !== undefined) args.push("--notify-keyspace-events", options.notifyKeyspaceEvents);
  if (options.password !== undefined) args.push("--requirepass", options.password);

  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let output = "";
  const collect = (chunk: Buffer) => {
    // Only the start-up log matters (why it failed); keep its tail.
    output = (output + chunk.toString("utf8")).slice(-8_192);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<Error>((resolve) => {
    child.once("error", (error) => resolve(new Error(`redis-server could not be started: ${error.message}; run make test-services`)));
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve(
        /Address already in use/i.test(output)
          ? new PortInUseError(`port ${port} is in use`)
          : new Error(`redis-server exited (${signal ?? `code ${code}`}) before answering PING:\n${output}`),
      );
    });
  });

  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let stopped: Error | undefined;
  void exited.then((error) => (stopped = error));
  while (stopped === undefined) {
    if (await answersPing(port, options.password, child.pid)) {
      // Once ready, later output is only drained, never kept.
      child.stdout?.removeListener("data", collect);
      child.stderr?.removeListener("data", collect);
      child.stdout?.resume();
      child.stderr?.resume();
      return child;
    }
    if (Date.now() > deadline) {
      await kill(child);
      throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${output}`);
    }
    await delay(20);
  }
  throw stopped;
}

/**
 * One connection: AUTH when needed, PING, then INFO server; true when the server
 * answers and is the process we started (another process may have taken the port
 * between our probe and redis's bind, and must not pass for ours).
 */
function answersPing(port: number, password: string | undefined, pid: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let reply = "";
    const done = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => {
      const auth = password === undefined ? "" : resp("AUTH", password);
      socket.write(auth + resp("PING") + resp("INFO", "server"));
    });
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.startsWith("-") || reply.includes("\r\n-")) return done(false);
      const id = /process_id:(\d+)\r\n/.exec(reply);
      if (id !== null) done(reply.includes("+PONG\r\n") && Number(id[1]) === pid);
    });
  });
}

/** A command in RESP, so that arguments with spaces or quotes travel intact. */
function resp(...parts: string[]): string {
  return `*${parts.length}\r\n` + parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join("");
}

/** SIGTERM, then SIGKILL if it lingers; resolves once the process has exited. */
export function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(force);
      running.delete(child);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
