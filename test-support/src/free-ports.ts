import { createServer, type Server } from "node:net";

/**
 * Loopback ports the kernel considers free right now, all different: each is
 * bound (port 0) and all are held until the last one is known, then released.
 * Probing one port after another released each before the next bind, and the
 * kernel may hand the same port out twice (a Kafka broker was once given one
 * port for both of its listeners).
 */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      server.unref();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once("error", reject);
          server.listen(0, host, () => {
            const address = server.address();
            const port = typeof address === "object" && address !== null ? address.port : 0;
            if (port > 0) resolve(port);
            else reject(new Error("no free port found"));
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  }
}

/** One loopback port the kernel considers free right now. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return (await freePorts(1, host))[0]!;
}
