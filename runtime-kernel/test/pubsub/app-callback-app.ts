import * as http2 from "node:http2";
import * as net from "node:net";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AppCallback } from "@ottavo/generated/spec/proto/runtime/v1/appcallback_pb";

export { freePort } from "@ottavo/test-support";

/** An app's AppCallback server written with Connect, in this process; methods left out answer UNIMPLEMENTED. */
export interface ConnectApp {
  readonly port: number;
  close(): Promise<void>;
}

export async function startConnectApp(impl: Partial<ServiceImpl<typeof AppCallback>>, port = 0): Promise<ConnectApp> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer(connectNodeAdapter({ routes: (router) => router.service(AppCallback, impl) }));
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
