import { isIPv6 } from "node:net";
import type { Interceptor } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { apiTokenHeader } from "../server/auth";
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
    // APP_API_TOKEN (Dapr's convention): sent on every call so the app can tell its runtime from anyone else.
    const appToken = process.env.APP_API_TOKEN || undefined;
    const interceptors: Interceptor[] =
      appToken === undefined ? [] : [(next) => (request) => (request.header.set(apiTokenHeader, appToken), next(request))];
    this.client = createAppCallbackClient(createGrpcTransport({ baseUrl: this.url, sessionManager: this.sessions, interceptors }));
  }

  /** Closes the connection and fails any call still on it. */
  close(): void {
    this.sessions.abort();
  }
}
