/** Where a server listens: a TCP host and port, or a Unix domain socket. */
export type ListenAddress =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "unix"; readonly path: string };

/**
 * Reads "host:port", "[::1]:port", ":port" (every interface, as in Go and MOSN)
 * or "unix:/path/to.sock". Returns a problem text instead of throwing, so a
 * config loader can collect every problem of a file.
 */
export function parseListenAddress(text: string): ListenAddress | { problem: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith("unix:")) {
    const path = trimmed.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    return path === "" ? { problem: "needs a socket path after 'unix:'" } : { kind: "unix", path };
  }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(trimmed);
  if (!match) return { problem: "must be host:port (e.g. 127.0.0.1:34904) or unix:/path/to.sock" };
  const port = Number(match[3]);
  if (port > 65535) return { problem: "has a port above 65535" };
  return { kind: "tcp", host: match[1] ?? match[2], port };
}

/** The address as a user writes it; IPv6 hosts in brackets. */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === "unix") return `unix:${address.path}`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}
