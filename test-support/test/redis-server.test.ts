import { createConnection } from "node:net";
import { startRedis, type RedisServer } from "../src";

/**
 * Sends inline commands, then QUIT, and answers every reply before QUIT's, or the
 * connection error's code.
 */
function sendAll(port: number, command: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let replies = "";
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    socket.once("connect", () => socket.write(`${command}\r\nQUIT\r\n`));
    socket.on("data", (chunk) => (replies += chunk.toString("utf8")));
    socket.once("close", () => resolve(replies.replace(/\+OK\r\n$/, "")));
  });
}

/** The first reply line of one command. */
async function send(port: number, command: string): Promise<string> {
  return (await sendAll(port, command)).split("\r\n")[0];
}

describe("startRedis", () => {
  const started: RedisServer[] = [];
  afterAll(() => Promise.all(started.map((s) => s.stop())));

  it("starts servers on distinct free loopback ports, ready to answer, without persistence", async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
    expect(a.url).toBe(`redis://127.0.0.1:${a.port}`);
    expect(await send(a.port, "PING")).toBe("+PONG");
    expect(await sendAll(a.port, "CONFIG GET save")).toBe("*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    expect(await sendAll(b.port, "CONFIG GET appendonly")).toBe("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
    expect(await sendAll(b.port, "CONFIG GET bind")).toContain("127.0.0.1");
  });

  it("stops, refusing connections after, and restarts on the same port", async () => {
    const server = await startRedis();
    started.push(server);
    await send(server.port, "SET k v");
    await server.stop();
    expect(await send(server.port, "PING")).toBe("ECONNREFUSED");
    await server.stop();
    await server.restart();
    expect(await send(server.port, "PING")).toBe("+PONG");
    // Nothing was persisted across the restart.
    expect(await send(server.port, "GET k")).toBe("$-1");
    await server.restart();
    expect(await send(server.port, "PING")).toBe("+PONG");
  });

  it("applies a password and keyspace notifications when asked", async () => {
    const server = await startRedis({ password: "pw", notifyKeyspaceEvents: "KEA" });
    started.push(server);
    expect(server.url).toBe(`redis://:pw@127.0.0.1:${server.port}`);
    expect(await send(server.port, "PING")).toMatch(/^-NOAUTH/);
    const reply = await sendAll(server.port, "AUTH pw\r\nCONFIG GET notify-keyspace-events");
    // Redis answers the flags in its own order.
    expect(reply).toMatch(/^\+OK\r\n\*2\r\n\$22\r\nnotify-keyspace-events\r\n\$\d+\r\n[AKE]+\r\n/);
  });
});
