#!/usr/bin/env node
import * as path from "node:path";
import { parseDuration } from "@ottavo/component-runtime";
import { readAppInfo } from "./server/app-info";
import { defaultShutdownTimeoutMs, guardProcess, runUntilSignalled } from "./runtime";
import { logLevels, parseLogLevel, type LogLevel } from "./config/observability-config";
import { LineOutput, maxBacklogBytes } from "./observability/line-output";
import { Logger } from "./observability/logger";
import { releaseOptimizer } from "./boot-optimizer";

/** The embedded default config: found beside the package (repo-root configs/), not in the cwd. */
export const defaultConfigFile = path.resolve(__dirname, "..", "..", "configs", "default.yaml");

export const usage = `Usage: ottavo run [-c <config file>] [-l <log level>] [--shutdown-timeout <duration>]

Runs the Ottavo runtime: the Layotto-compatible API (gRPC, gRPC-Web and Connect
on one port) and the actuator (health and info over HTTP).

Commands:
  run                       start the runtime and serve until SIGTERM or SIGINT

Options for run:
  -c, --config <file>       Layotto config.json (.json) or Ottavo YAML (.yaml, .yml);
                            without it, the embedded default config runs one
                            component of every kind, no backend needed
  -l, --log-level <level>   error, warn, info (the default), debug or trace
                            (Layotto's warning, critical and fatal too); wins
                            over the config's logging.level
  --shutdown-timeout <d>    how long in-flight calls may take to finish on
                            shutdown, e.g. 10s (the default), 500ms, 1m

Other:
  -h, --help                show this help
  -v, --version             show the version

Exit codes: 0 clean stop, 1 config or start error, 2 usage error.
`;

/** What the command line asks for, or a usage problem. */
export type CliCommand =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "run"; configFile: string; shutdownTimeoutMs: number; logLevel?: LogLevel }
  | { kind: "usage-error"; message: string };

export function parseArgs(args: readonly string[]): CliCommand {
  if (args.length === 0) return { kind: "usage-error", message: "missing command" };
  const [command, ...rest] = args;
  if (command === "-h" || command === "--help" || command === "help") return { kind: "help" };
  if (command === "-v" || command === "--version" || command === "version") return { kind: "version" };
  if (command !== "run") return { kind: "usage-error", message: `unknown command '${command}'` };

  let configFile: string | undefined;
  let shutdownTimeoutMs = defaultShutdownTimeoutMs;
  let logLevel: LogLevel | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (eq > 0 ? arg.slice(eq + 1) : rest[++i]);
    if (flag === "-h" || flag === "--help") return { kind: "help" };
    if (flag === "-c" || flag === "--config") {
      const file = value();
      if (file === undefined || file === "") return { kind: "usage-error", message: `${flag} needs a config file` };
      configFile = file;
    } else if (flag === "-l" || flag === "--log-level") {
      const text = value();
      const level = parseLogLevel(text);
      if (level === undefined) return { kind: "usage-error", message: `${flag} needs a level: ${logLevels.join(", ")}` };
      logLevel = level;
    } else if (flag === "--shutdown-timeout") {
      const text = value();
      if (text === undefined) return { kind: "usage-error", message: "--shutdown-timeout needs a duration, e.g. 10s" };
      // A unit is required: a bare "10" could mean seconds or milliseconds.
      const ms = /^\s*\d+\s*$/.test(text) ? undefined : parseDuration(text);
      if (ms === undefined) return { kind: "usage-error", message: `--shutdown-timeout '${text}' is not a duration such as 10s, 500ms or 1m` };
      shutdownTimeoutMs = ms;
    } else {
      return { kind: "usage-error", message: `unknown option '${arg}'` };
    }
  }
  return { kind: "run", configFile: configFile ?? defaultConfigFile, shutdownTimeoutMs, ...(logLevel && { logLevel }) };
}

/** Lines per stream, batched into one reused buffer (observability/line-output.ts); a process exit writes what is still pending. */
const stdoutLines = new LineOutput(1, () => process.stdout, maxBacklogBytes, (error) =>
  log.warn(`ottavo: warning: standard output cannot be written (${(error as NodeJS.ErrnoException).code ?? error.message}); its lines are dropped from now on and counted in ottavo_log_lines_dropped_total`),
);
const stderrLines = new LineOutput(2, () => process.stderr);
process.on("exit", () => {
  stdoutLines.flushSync();
  stderrLines.flushSync();
});

/** Text until the config says otherwise (a config error is printed before any config is read). */
const log = new Logger({
  stdout: (line) => stdoutLines.add(line),
  stdoutLater: (line) => stdoutLines.add(line, true),
  reserveLater: (bytes) => stdoutLines.reserveLater(bytes),
  commitLater: (end) => stdoutLines.commitLater(end),
  stderr: (line) => stderrLines.add(line),
  droppedLines: () => stdoutLines.dropped + stderrLines.dropped,
});

export async function main(args: readonly string[]): Promise<number> {
  const command = parseArgs(args);
  switch (command.kind) {
    case "help":
      process.stdout.write(usage);
      return 0;
    case "version":
      process.stdout.write(`${readAppInfo().version}\n`);
      return 0;
    case "usage-error":
      process.stderr.write(`ottavo: ${command.message}\n\n${usage}`);
      return 2;
    case "run":
      guardProcess(log);
      if (command.logLevel) log.configure({ level: command.logLevel, format: "text" });
      return runUntilSignalled({ configFile: command.configFile, shutdownTimeoutMs: command.shutdownTimeoutMs, logLevel: command.logLevel, log }, process.exit, releaseOptimizer);
  }
}

if (require.main === module) runCommand(process.argv.slice(2));

/** The command: runs main and exits with its code once stdout and stderr are written. */
export function runCommand(args: readonly string[]): void {
  main(args).then(
    (code) => flushThenExit(code),
    (error: unknown) => {
      process.stderr.write(`ottavo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      flushThenExit(1);
    },
  );
}

/** Exits once stdout and stderr are written (a pipe may still hold the last lines). */
function flushThenExit(code: number): void {
  stdoutLines.flush();
  stderrLines.flush();
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}
