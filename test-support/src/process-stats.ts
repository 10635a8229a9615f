import { readdirSync, readFileSync } from "node:fs";

/**
 * What a process holds, read from /proc (Linux): the abuse tests assert that file
 * descriptors and memory come back near their baseline after an attack.
 */

/** How many file descriptors the process has open (sockets, files, pipes). */
export function openFdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The process's resident memory in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** TCP connections of the local port in each state (ESTABLISHED, CLOSE_WAIT, ...), from /proc/net/tcp and tcp6. */
export function tcpStatesOfPort(port: number): Record<string, number> {
  const names: Record<string, string> = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT",
    "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
  };
  const counts: Record<string, number> = {};
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || !fields[1].endsWith(`:${hexPort}`)) continue;
      const state = names[fields[3]] ?? fields[3];
      counts[state] = (counts[state] ?? 0) + 1;
    }
  }
  return counts;
}
