import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { isGrpcWebText, serveGrpcWebText } from "./grpc-web-text";
import { answerUnimplemented } from "./unimplemented";

type NodeServerRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeServerResponse = Parameters<typeof serveGrpcWebText>[2];

/**
 * The routes as Connect-ES registered them, and what this server adds around
 * Connect-ES on the same routes: UNIMPLEMENTED for paths no route serves (as
 * Connect's fallback), and gRPC-Web's text mode, which Connect-ES does not speak.
 */
export class ServedRoutes {
  private readonly byPath = new Map<string, UniversalHandler>();
  private readonly services = new Set<string>();

  constructor(private readonly register: (router: ConnectRouter) => void) {}

  /** Give this to connectNodeAdapter as `routes`: it registers, then remembers what was registered. */
  readonly routes = (router: ConnectRouter): void => {
    this.register(router);
    for (const handler of router.handlers) {
      this.byPath.set(handler.requestPath, handler);
      this.services.add(handler.service.typeName);
    }
  };

  /** Give this to connectNodeAdapter as `fallback`. */
  readonly fallback = (request: NodeServerRequest, response: NodeServerResponse): void => {
    answerUnimplemented(request, response, this.services);
  };

  /** Serves a request Connect-ES cannot (gRPC-Web text); false leaves it to Connect-ES. */
  serveOutsideConnect(request: NodeServerRequest, response: NodeServerResponse): boolean {
    if (!isGrpcWebText(request.headers["content-type"] ?? "")) return false;
    const handler = this.byPath.get((request.url ?? "").split("?", 1)[0]!);
    if (handler === undefined) {
      this.fallback(request, response);
      return true;
    }
    serveGrpcWebText(handler, request, response).catch(() => {
      // The Connect handler answers every rpc error itself: this is a broken connection.
      if ("destroy" in response && typeof response.destroy === "function") response.destroy();
    });
    return true;
  }
}
