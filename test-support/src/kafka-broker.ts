import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { freePorts } from "./free-ports";

/** A single-node Kafka broker (KRaft) this process started, on loopback ports of its own. */
export interface KafkaBroker {
  /** The bootstrap address, ["127.0.0.1:<port>"], as kafkajs and the adapter's `brokers` take it. */
  readonly brokers: readonly string[];
  readonly port: number;
  /** Kills the broker and resolves once it has exited, its data removed; calling it again does nothing. */
  stop(): Promise<void>;
  /**
   * Stops the broker (if running) and starts it again on the same ports with the
   * same data: topics, messages and committed offsets survive, as on a real restart.
   */
  restart(): Promise<void>;
}

export interface KafkaBrokerOptions {
  /** Partitions of an auto-created topic (num.partitions); 1 by default. */
  partitions?: number;
  /** How long start-up may take before it fails; 60 s by default (the first run may copy jars). */
  startTimeoutMs?: number;
}

const host = "127.0.0.1";
const repoRoot = path.resolve(__dirname, "..", "..");
const kafkaDir = path.join(repoRoot, "test-support", "kafka");

/**
 * Starts Apache Kafka's broker (jars from Maven Central, see
 * test-support/kafka/fetch-broker.sh; `make test-services` fetches them, and this
 * does too when they are missing) single-node in KRaft mode on free 127.0.0.1
 * ports, its log in a temp folder, and resolves once a client sees the cluster
 * (it answers with the cluster id formatted here, so another process that took
 * the port is never mistaken for ours). Register `stop()` in afterAll; brokers
 * still running when this process exits are killed then, and a watchdog kills
 * the JVM if this process dies without a chance to (SIGKILL).
 */
export async function startKafka(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const libs = await brokerLibs();
  const dir = mkdtempSync(path.join(tmpdir(), "ottavo-kafka-"));
  tempDirs.add(dir);
  try {
    // Another process may take a port between our probe and the broker's bind: try a few.
    for (let attempt = 1; ; attempt++) {
      const [port, controllerPort] = await freePorts(2, host);
      const setup: BrokerSetup = {
        libs,
        dir,
        port: port!,
        controllerPort: controllerPort!,
        partitions: options.partitions ?? 1,
        clusterId: newClusterId(),
      };
      rmSync(path.join(dir, "data"), { recursive: true, force: true });
      writeConfig(setup);
      await format(setup, deadline);
      try {
        const child = await launch(setup, deadline);
        return new ManagedKafka(setup, child, options.startTimeoutMs ?? 60_000);
      } catch (error) {
        if (!(error instanceof PortInUseError) || attempt >= 5) throw error;
      }
    }
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}

interface BrokerSetup {
  readonly libs: string;
  readonly dir: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly partitions: number;
  readonly clusterId: string;
}

class ManagedKafka implements KafkaBroker {
  readonly brokers: readonly string[];
  readonly port: number;

  constructor(
    private readonly setup: BrokerSetup,
    private child: ChildProcess | undefined,
    private readonly startTimeoutMs: number,
  ) {
    this.port = setup.port;
    this.brokers = [`${host}:${setup.port}`];
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    // Its data goes too: no need to wait for a clean shutdown.
    if (child !== undefined) await kill(child, "SIGKILL");
    removeDir(this.setup.dir);
  }

  async restart(): Promise<void> {
    const running = this.child;
    this.child = undefined;
    // A clean shutdown, so the restarted broker need not recover its log.
    if (running !== undefined) await kill(running, "SIGTERM");
    // The old sockets may linger for a moment after exit; retry the same ports briefly.
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      try {
        this.child = await launch(this.setup, deadline);
        return;
      } catch (error) {
        if (!(error instanceof PortInUseError) || Date.now() > deadline) throw error;
        await delay(200);
      }
    }
  }
}

class PortInUseError extends Error {}

/** Every broker JVM this process started and has not seen exit. */
const running = new Set<ChildProcess>();
/** Folders of brokers not stopped yet. */
const tempDirs = new Set<string>();
let exitHooksInstalled = false;

function removeDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = () => {
    for (const child of running) killGroup(child, "SIGKILL");
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

/** The folder of broker jars, copied from Maven Central by fetch-broker.sh unless already there. */
function brokerLibs(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path.join(kafkaDir, "fetch-broker.sh"), { timeout: 10 * 60_000 }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`cannot obtain Kafka's broker jars (test-support/kafka/fetch-broker.sh): ${error.message}\n${stderr}`));
        return;
      }
      resolve(stdout.trim().split("\n").pop() ?? "");
    });
  });
}

/** server.properties from the template beside the POM, with this broker's ports and folder. */
function writeConfig(setup: BrokerSetup): void {
  const template = readFileSync(path.join(kafkaDir, "server.properties"), "utf8");
  const values: Record<string, string> = {
    PORT: String(setup.port),
    CONTROLLER_PORT: String(setup.controllerPort),
    LOG_DIR: path.join(setup.dir, "data"),
    PARTITIONS: String(setup.partitions),
  };
  const text = template.replace(/@([A-Z_]+)@/g, (whole, name: string) => values[name] ?? whole);
  writeFileSync(path.join(setup.dir, "server.properties"), text);
}

/** A KRaft cluster id: 16 random bytes in URL-safe base64 without padding, as `kafka-storage random-uuid` prints. */
function newClusterId(): string {
  return randomBytes(16).toString("base64url");
}

function javaCommand(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, "bin", "java") : "java";
}

/**
 * JVM options shared with run-broker.sh (test-support/kafka/jvm.options, a Java
 * argument file): a 512 MB heap, the serial collector and C1 only, since a test
 * broker starts often and works little; and warnings-only logging.
 */
function jvmArgs(setup: BrokerSetup): string[] {
  return [
    `@${path.join(kafkaDir, "jvm.options")}`,
    `-Dlog4j2.configurationFile=${path.join(kafkaDir, "log4j2.properties")}`,
    "-cp",
    path.join(setup.libs, "*"),
  ];
}

/** Formats the log folder for KRaft (static quorum: controller.quorum.voters, so no --standalone). */
function format(setup: BrokerSetup, deadline: number): Promise<void> {
  const args = [
    ...jvmArgs(setup),
    "kafka.tools.StorageTool",
    "format",
    // One argument: an id may start with "-" (base64url), which argparse would take for an option.
    `--cluster-id=${setup.clusterId}`,
    "--config",
    path.join(setup.dir, "server.properties"),
  ];
  return new Promise((resolve, reject) => {
    execFile(javaCommand(), args, { timeout: Math.max(1_000, deadline - Date.now()) }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`formatting the Kafka log folder failed: ${error.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

/**
 * Runs the broker under a small shell that kills it, and removes its folder, when
 * this process is gone (checked every second), so not even a SIGKILLed test run
 * leaves a JVM or a log folder behind. SIGTERM to the shell stops the broker and
 * waits for it.
 */
const watchdog = `
"$@" &
broker=$!
# The broker keeps the pipes; the shell's own notices ("Killed") must not die of
# SIGPIPE once this process, which reads them, is gone.
exec 2>/dev/null
trap 'kill -TERM "$broker" 2>/dev/null; wait "$broker"; exit 0' TERM INT HUP
while kill -0 "$OTTAVO_OWNER_PID" 2>/dev/null && kill -0 "$broker" 2>/dev/null; do sleep 1 & wait $!; done
kill -KILL "$broker" 2>/dev/null
wait "$broker"
kill -0 "$OTTAVO_OWNER_PID" 2>/dev/null || rm -rf "$OTTAVO_BROKER_DIR"
`;

/** Spawns the broker and resolves once it serves clients; rejects if it exits first or the deadline passes. */
async function launch(setup: BrokerSetup, deadline: number): Promise<ChildProcess> {
  installExitHooks();
  mkdirSync(setup.dir, { recursive: true });
  const child = spawn(
    "bash",
    ["-c", watchdog, "kafka-watchdog", javaCommand(), ...jvmArgs(setup), "kafka.Kafka", path.join(setup.dir, "server.properties")],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, OTTAVO_OWNER_PID: String(process.pid), OTTAVO_BROKER_DIR: setup.dir },
      // Its own process group, so one signal reaches the shell and the JVM.
      detached: true,
    },
  );
  running.add(child);
  let output = "";
  const collect = (chunk: Buffer) => {
    // Only the start-up log matters (why it failed); keep its tail.
    output = (output + chunk.toString("utf8")).slice(-16_384);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let stopped: Error | undefined;
  child.once("error", (error) => (stopped = new Error(`java could not be started: ${error.message}; run make kafka-broker`)));
  child.once("exit", (code, signal) => {
    running.delete(child);
    stopped ??= /Address already in use|BindException/i.test(output)
      ? new PortInUseError(`port ${setup.port} or ${setup.controllerPort} is in use`)
      : new Error(`the Kafka broker exited (${signal ?? `code ${code}`}) before it served clients:\n${output}`);
  });

  const bootstrap = `${host}:${setup.port}`;
  for (;;) {
    if (stopped !== undefined) throw stopped;
    if (await servesCluster(bootstrap, setup.clusterId)) {
      // Once ready, later output is only drained, never kept.
      child.stdout?.removeListener("data", collect);
      child.stderr?.removeListener("data", collect);
      child.stdout?.resume();
      child.stderr?.resume();
      return child;
    }
    if (stopped !== undefined) throw stopped;
    if (Date.now() > deadline) {
      await kill(child, "SIGKILL");
      throw new Error(`the Kafka broker on ${bootstrap} did not serve clients in time:\n${output}`);
    }
    await delay(100);
  }
}

/** True when a broker at the address answers DescribeCluster and lists topics, with our cluster id. */
async function servesCluster(bootstrap: string, clusterId: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: "ottavo-test-support",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 500,
    requestTimeout: 2_000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.clusterId !== clusterId) return false;
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}


/**
 * SIGTERM lets the broker shut down cleanly (the shell forwards it and waits),
 * SIGKILL ends the shell and the JVM at once; a broker still there after 10 s is
 * killed. Resolves once the shell has exited.
 */
function kill(child: ChildProcess, signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    killGroup(child, "SIGKILL");
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const force = setTimeout(() => killGroup(child, "SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(force);
      running.delete(child);
      // Whatever of the group is left (the JVM, when the shell went first).
      killGroup(child, "SIGKILL");
      resolve();
    });
    if (signal === "SIGTERM") child.kill("SIGTERM");
    else killGroup(child, "SIGKILL");
  });
}

/** Signals the child's whole process group (it leads one: spawned detached). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
