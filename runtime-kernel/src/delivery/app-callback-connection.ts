import { isIPv6 } from "node:net";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { createAppCallbackClient, type AppCallbackClient } from "@ottavo/generated/client/app-callback-client";

/** Where the app's own gRPC server (AppCallback) listens, from app.callbackPort / grpc_callback_port. */
export interface AppCallbackAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * One HTTP/2 connection to the app's AppCallback server, opened on first use and
 * reopened by the next call after the app went away (so an app that restarts is
 * reached again without the runtime doing anything). close() drops it.
 */
export class AppCallbackConnection {
  readonly client: AppCallbackClient;
  readonly url: string;
  private readonly sessions: Http2SessionManager;

  constructor(address: AppCallbackAddress) {
    const host = isIPv6(address.host) ? `[${address.host}]` : address.host;
    this.url = `http://${host}:${address.port}`;
    this.sessions = new Http2SessionManager(this.url);
    this.client = createAppCallbackClient(createGrpcTransport({ baseUrl: this.url, sessionManager: this.sessions }));
  }

  /** Closes the connection and fails any call still on it. */
  close(): void {
    this.sessions.abort();
  }
}
