import { createServer } from "node:net";
import { freePorts } from "../src/free-ports";

/** The ports a test's servers (Kafka's two listeners, etcd's three) are given: all different, and free once handed out. */
describe("freePorts", () => {
  it("hands out different ports, each of which can then be bound", async () => {
    for (let round = 0; round < 20; round++) {
      const ports = await freePorts(3);
      expect(new Set(ports).size).toBe(3);
      const servers = await Promise.all(
        ports.map(
          (port) =>
            new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
              const server = createServer();
              server.once("error", reject);
              server.listen(port, "127.0.0.1", () => resolve(server));
            }),
        ),
      );
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });
});
