import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which may hold spaces, closed by the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Resident memory in bytes. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** How much ahead of everything else on the machine measured processes run (nice); needs root, else ignored. */
export const benchNice = -10;

/**
 * Pins a process and all its threads to the given CPUs (taskset -a) and raises
 * their priority, so that other work on a shared machine disturbs the figures less.
 */
export function pin(pid: number, cpus: string): void {
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      execFileSync("renice", ["-n", String(benchNice), "-p", task], { stdio: "ignore" });
    } catch {
      // Not root: same priority as everything else.
    }
  }
}

/** How busy a process was while `work` ran: CPU seconds over wall seconds (1.0 = one core). */
export async function cpuShare<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; share: number }> {
  const cpuBefore = cpuSeconds(pid);
  const wallBefore = performance.now();
  const result = await work();
  const share = (cpuSeconds(pid) - cpuBefore) / ((performance.now() - wallBefore) / 1000);
  return { result, share };
}
