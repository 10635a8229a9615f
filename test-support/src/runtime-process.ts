import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/**
 * The built command, as a user runs it: the bundle of tsc's output
 * (runtime-kernel/scripts/bundle.js). End-to-end tests exercise the build output,
 * so `npx tsc -b` must have run (make test and jest's global setup do it); a bundle
 * older than that build is made anew before the first start.
 */
const repoRoot = path.resolve(__dirname, "..", "..");
const bundleScript = path.join(repoRoot, "runtime-kernel", "scripts", "bundle.js");
let bundleChecked = false;
function builtCommand(): string {
  const { bundleIfStale, bundleFile } = require(bundleScript) as { bundleIfStale(): void; bundleFile: string };
  if (!bundleChecked) {
    bundleIfStale();
    bundleChecked = true;
  }
  return bundleFile;
}

/** The line the runtime prints on stdout once both servers listen: text, or a JSON record's msg (logging.format: json). */
const readyLine = /^(?:ottavo: |\{.*"msg":")serving the API on (\S+) and the actuator on (\S+) \((\d+) components?\)(?:"|$)/m;

export interface StartRuntimeOptions {
  /**
   * The config: its text (Ottavo YAML or Layotto's config.json), written into a
   * fresh temp folder, or the path of a config file, used where it is (so its
   * relative paths resolve beside it). A single line naming an existing file, or
   * ending in .yaml, .yml or .json, is a path; anything else is text.
   */
  readonly config: string;
  /** The format of config text, which picks the file's extension; by default JSON when it starts with "{", else YAML. */
  readonly format?: "yaml" | "json";
  /**
   * The config file's name inside the temp folder, e.g. "configs/default.yaml" so
   * that a relative "../files" stays inside the temp folder; "config.yaml" or
   * "config.json" by default.
   */
  readonly configName?: string;
  /** More files written into the temp folder (relative names), e.g. { "secrets.json": "{...}" }. */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /** More command-line arguments after `run -c <file>`, e.g. ["--shutdown-timeout", "20s"]. */
  readonly args?: readonly string[];
  /** Environment variables added to this process's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** Node's own flags before the script, e.g. ["--trace-gc"]. */
  readonly nodeArgs?: readonly string[];
  /** Another build's cli.js (the bench compares builds); this checkout's by default. */
  readonly cliFile?: string;
  /** How long the runtime may take to print its ready line; 15 s by default. */
  readonly startTimeoutMs?: number;
}

/** A runtime process that printed its ready line. */
export interface RunningRuntime {
  /** The real ports (the config may say 0). */
  readonly apiPort: number;
  readonly actuatorPort: number;
  /** http://<host>:<port> of each, as printed in the ready line. */
  readonly apiUrl: string;
  readonly actuatorUrl: string;
  /** How many components the ready line reported. */
  readonly componentCount: number;
  /** The config file the process was started with (absolute); config errors name it. */
  readonly configFile: string;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains the text or matches the pattern; rejects if the process exits first. */
  waitForStdout(pattern: string | RegExp, timeoutMs?: number): Promise<void>;
  /**
   * Sends the signal (SIGTERM: a graceful stop) and resolves with the exit code
   * (null when a signal ended it); once exited, resolves with the same code again.
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** The exit code once the process has exited, whoever stopped it. */
  readonly exited: Promise<number | null>;
  readonly process: ChildProcessWithoutNullStreams;
}

/** The runtime exited (or timed out) before it printed its ready line. Its message is what it wrote on stderr. */
export class RuntimeStartError extends Error {
  constructor(
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
    readonly configFile: string,
    why: string,
  ) {
    super(`${why}; stderr:\n${stderr}`);
    this.name = "RuntimeStartError";
  }
}

/** What a runtime that refused to start left behind. */
export interface RuntimeFailure {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The config file it was given (absolute); config errors name it. */
  readonly configFile: string;
}

/**
 * Starts `node runtime-kernel/dist/cli.js run -c <file>` and resolves once its
 * ready line is printed, with the ports it reports. Rejects with a
 * RuntimeStartError carrying stderr when the process exits or times out first.
 * Every process started here is stopped when the test file finishes (an afterAll
 * registered when this module is imported; a process exit hook as a last resort),
 * even when a test failed before calling stop().
 */
export async function startRuntime(options: StartRuntimeOptions): Promise<RunningRuntime> {
  const launched = launch(options);
  const { child, out, err, exited, configFile } = launched;
  const timeoutMs = options.startTimeoutMs ?? 15_000;

  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const check = () => {
      const found = readyLine.exec(out.text);
      if (found === null) return;
      finish();
      resolve(found);
    };
    const onExit = (code: number | null) => {
      finish();
      reject(new RuntimeStartError(code, out.text, err.text, configFile, `the runtime exited with code ${code} before it was ready`));
    };
    const finish = () => {
      clearTimeout(timer);
      child.stdout.off("data", check);
      child.off("exit", onExit);
    };
    timer = setTimeout(() => {
      finish();
      void killNow(child).then(() =>
        reject(new RuntimeStartError(null, out.text, err.text, configFile, `the runtime printed no ready line within ${timeoutMs} ms`)),
      );
    }, timeoutMs);
    // Registered after launch()'s own listener, so out.text already holds this chunk.
    child.stdout.on("data", check);
    child.once("exit", onExit);
    check();
  });

  const api = hostAndPort(match[1]);
  const actuator = hostAndPort(match[2]);
  if (api === undefined || actuator === undefined) {
    await killNow(child);
    throw new RuntimeStartError(null, out.text, err.text, configFile, `startRuntime needs TCP addresses, the runtime printed: ${match[0]}`);
  }

  return {
    apiPort: api.port,
    actuatorPort: actuator.port,
    apiUrl: `http://${api.host}:${api.port}`,
    actuatorUrl: `http://${actuator.host}:${actuator.port}`,
    componentCount: Number(match[3]),
    configFile,
    stdout: () => out.text,
    stderr: () => err.text,
    waitForStdout: (pattern, waitMs = 10_000) => waitForText(child, out, pattern, waitMs),
    stop: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    exited,
    process: child,
  };
}

/**
 * Runs the runtime with a config that should stop its start, and resolves with
 * the exit code and what it wrote. Rejects (after stopping it) if it serves instead.
 */
export async function runRuntimeExpectingFailure(
  config: string | StartRuntimeOptions,
): Promise<RuntimeFailure> {
  try {
    const running = await startRuntime(typeof config === "string" ? { config } : config);
    await killNow(running.process);
    throw new Error(`expected the runtime to refuse ${running.configFile}, but it served: ${running.stdout().trim()}`);
  } catch (error) {
    if (!(error instanceof RuntimeStartError) || error.code === null) throw error;
    return { code: error.code, stdout: error.stdout, stderr: error.stderr, configFile: error.configFile };
  }
}

interface Launched {
  child: ChildProcessWithoutNullStreams;
  out: { text: string };
  err: { text: string };
  exited: Promise<number | null>;
  configFile: string;
}

function launch(options: StartRuntimeOptions): Launched {
  const cli = options.cliFile ?? builtCommand();
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npx tsc -b)`);
  const configFile = writeConfig(options);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), cli, "run", "-c", configFile, ...(options.args ?? [])], {
    cwd: path.dirname(configFile),
    env: { ...process.env, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  tracked.add(child);
  installCleanup();
  const out = { text: "" };
  const err = { text: "" };
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => (out.text += chunk));
  child.stderr.on("data", (chunk: string) => (err.text += chunk));
  // "close" comes after the pipes are drained, so the last lines are in out and err.
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", (error) => {
      err.text += `could not start ${process.execPath}: ${error.message}\n`;
    });
    child.once("close", (code) => {
      tracked.delete(child);
      resolve(code);
    });
  });
  return { child, out, err, exited, configFile };
}

/** Writes config text and its companion files into a new temp folder; a path to an existing file is used as it is. */
function writeConfig(options: StartRuntimeOptions): string {
  const { config } = options;
  if (isPath(config)) {
    if (options.files !== undefined || options.configName !== undefined) {
      throw new Error("startRuntime: files and configName go with config text, not with the path of a config file");
    }
    return path.resolve(config);
  }
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-e2e-"));
  tempDirs.add(dir);
  const format = options.format ?? (config.trimStart().startsWith("{") ? "json" : "yaml");
  const configFile = path.join(dir, options.configName ?? `config.${format}`);
  const write = (file: string, content: string | Uint8Array) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  write(configFile, config);
  for (const [name, content] of Object.entries(options.files ?? {})) write(path.join(dir, name), content);
  return configFile;
}

/** One line naming an existing file, or a config file name that may not exist (the runtime then says so). */
function isPath(config: string): boolean {
  if (config.includes("\n")) return false;
  if (/\.(ya?ml|json)$/i.test(config.trim()) && !config.trimStart().startsWith("{")) return true;
  try {
    return statSync(config).isFile();
  } catch {
    return false;
  }
}

/** "127.0.0.1:4711" or "[::1]:4711"; undefined for a unix socket. */
function hostAndPort(address: string): { host: string; port: number } | undefined {
  const match = /^(.+):(\d+)$/.exec(address);
  if (match === null || address.startsWith("unix:")) return undefined;
  return { host: match[1], port: Number(match[2]) };
}

function waitForText(
  child: ChildProcessWithoutNullStreams,
  out: { text: string },
  pattern: string | RegExp,
  timeoutMs: number,
): Promise<void> {
  const seen = () => (typeof pattern === "string" ? out.text.includes(pattern) : pattern.test(out.text));
  if (seen()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      child.stdout.off("data", check);
      child.off("close", onClose);
    };
    const check = () => {
      if (!seen()) return;
      finish();
      resolve();
    };
    const onClose = (code: number | null) => {
      finish();
      reject(new Error(`the runtime exited (code ${code}) before printing ${String(pattern)}; stdout:\n${out.text}`));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`the runtime did not print ${String(pattern)} within ${timeoutMs} ms; stdout:\n${out.text}`));
    }, timeoutMs);
    child.stdout.on("data", check);
    child.once("close", onClose);
  });
}

/** Processes started here and not yet seen exit; temp folders not yet removed. */
const tracked = new Set<ChildProcessWithoutNullStreams>();
const tempDirs = new Set<string>();

/** SIGKILL: the safety net does not wait for a drain. Resolves once the process is gone. */
function killNow(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/**
 * Stops every runtime this test file started that is still running, and removes
 * the temp folders: SIGTERM first, SIGKILL after a short grace. Registered as an
 * afterAll automatically (exported for callers outside jest). Jest runs a file's
 * top-level afterAll hooks in the order they were declared, and this one is
 * declared at import, before the file's own: a graceful stop here lets a later
 * `await runtime.stop()` still see the exit code of a clean shutdown.
 */
export async function stopAllRuntimes(graceMs = 3_000): Promise<void> {
  await Promise.all(
    [...tracked].map(async (child) => {
      const gone = new Promise<void>((resolve) => child.once("close", () => resolve()));
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        gone.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
      ]);
      clearTimeout(timer);
      if (!inTime) await killNow(child);
    }),
  );
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let cleanupInstalled = false;

/**
 * Jest gives each test file its own copy of this module, so the afterAll
 * registered here runs at the end of the file that started the processes.
 * The exit hook covers a run that is torn down without afterAll.
 */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once("exit", () => {
    for (const child of tracked) child.kill("SIGKILL");
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

// Registered at import time, at the top level of the test file, so that it runs once after all of its tests.
const jestAfterAll = (globalThis as { afterAll?: (fn: () => Promise<void>, timeoutMs?: number) => void }).afterAll;
if (typeof jestAfterAll === "function") jestAfterAll(() => stopAllRuntimes(), 10_000);
