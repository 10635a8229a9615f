import { createConnection, createServer, type Server, type Socket } from "node:net";

/** A loopback TCP proxy in front of a server, whose link a test can cut and restore. */
export interface TcpProxy {
  /** host:port to connect to instead of the target. */
  readonly endpoint: string;
  /** Destroys every proxied connection; new ones are accepted and closed at once until restore(). */
  cut(): void;
  /** Proxies new connections again. */
  restore(): void;
  /** Cuts and stops listening; resolves once the listener is closed. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on a free 127.0.0.1 port forwarding to `target` (host:port).
 * Cutting it is what a dropped network link looks like to the client: its
 * connections end, and it cannot reconnect until the link is restored, while the
 * server itself goes on serving other clients.
 */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const separator = target.lastIndexOf(":");
  const host = target.slice(0, separator);
  const port = Number(target.slice(separator + 1));
  const open = new Set<Socket>();
  let linked = true;
  const server: Server = createServer((client) => {
    if (!linked) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host, port });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address !== "object") throw new Error("the proxy has no address");
  const cut = () => {
    linked = false;
    for (const socket of open) socket.destroy();
  };
  return {
    endpoint: `127.0.0.1:${address.port}`,
    cut,
    restore: () => {
      linked = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
