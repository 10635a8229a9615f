import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");
const moduleDir = path.join(repoRoot, "test-support", "go");
/** Where `make go-tools` installs them; tests build them there themselves when missing. */
export const goToolsDir = path.join(repoRoot, ".cache", "go", "bin");

/** The Go clients tests run (test-support/go/go.mod pins their versions). */
export type GoTool = "grpcprobe" | "grpcurl" | "grpc-health-probe";

/**
 * The path of a Go client built from test-support/go, building every tool of the
 * module (once, with the Go module cache) when one is missing. Jest workers may
 * ask at the same time: one builds under a lock file, the others wait for it.
 */
export function goTool(name: GoTool): string {
  const binary = path.join(goToolsDir, name);
  if (existsSync(binary)) return binary;
  mkdirSync(goToolsDir, { recursive: true });
  const lock = path.join(goToolsDir, ".building");
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lock, "wx");
    } catch {
      // Another worker builds; a lock older than 15 minutes is left from a killed build.
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (since !== undefined && Date.now() - since > 15 * 60_000) rmSync(lock, { force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
      if (existsSync(binary)) return binary;
      continue;
    }
    try {
      if (!existsSync(binary)) {
        execFileSync("go", ["install", "tool", "./grpcprobe"], {
          cwd: moduleDir,
          env: { ...process.env, GOBIN: goToolsDir, GOFLAGS: "-mod=mod" },
          stdio: ["ignore", "ignore", "pipe"],
          timeout: 10 * 60_000,
        });
      }
      return binary;
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
    }
  }
}
