import { existsSync, lstatSync, unlinkSync } from "node:fs";
import * as net from "node:net";
import { formatListenAddress, type ListenAddress } from "../config/listen-address";

/** A server could not listen on its address; the message says where and why. */
export class ListenError extends Error {
  constructor(
    readonly address: ListenAddress,
    readonly code: string | undefined,
    readonly reason: string,
  ) {
    super(`cannot listen on ${formatListenAddress(address)}: ${reason}`);
    this.name = "ListenError";
  }
}

const reasons: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "address not available on this machine",
  ENOENT: "the socket's folder does not exist",
  ENOTFOUND: "unknown host",
};

/**
 * Listens and resolves with the address actually bound (the real port when the
 * config asked for port 0). A Unix socket file left behind by a process that
 * died is removed first; one that still answers is left alone (EADDRINUSE).
 */
export async function listenOn(server: net.Server, address: ListenAddress): Promise<ListenAddress> {
  if (address.kind === "unix") await removeStaleSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new ListenError(address, error.code, (error.code && reasons[error.code]) || error.message));
    };
    server.once("error", onError);
    const done = () => {
      server.removeListener("error", onError);
      resolve();
    };
    if (address.kind === "unix") server.listen(address.path, done);
    else if (address.host === "") server.listen(address.port, done);
    else server.listen(address.port, address.host, done);
  });
  const bound = server.address();
  if (address.kind === "unix" || bound === null || typeof bound === "string") return address;
  return { kind: "tcp", host: address.host, port: bound.port };
}

/** Closes a listening server; resolves when it stopped listening (open connections are the caller's business). */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path) || !lstatSync(path).isSocket()) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (!alive) unlinkSync(path);
}
