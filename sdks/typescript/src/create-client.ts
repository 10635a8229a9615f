import { createGrpcTransport } from "@connectrpc/connect-node";
import { OttavoClient } from "./gen/ottavo-client.js";
import { resolveEndpoint } from "./support/endpoint.js";

export interface ClientOptions {
  /** host:port or http://host:port; by default from the environment (see resolveEndpoint). */
  endpoint?: string;
  /** Headers sent with every call (gRPC metadata), e.g. an API token. */
  headers?: Readonly<Record<string, string>>;
}

/** An OttavoClient over gRPC (HTTP/2) to the runtime. */
export function createOttavoClient(options: ClientOptions = {}): OttavoClient {
  const headers = options.headers;
  const transport = createGrpcTransport({
    baseUrl: options.endpoint !== undefined ? resolveEndpoint({ OTTAVO_GRPC_ENDPOINT: options.endpoint }) : resolveEndpoint(),
    ...(headers !== undefined
      ? { interceptors: [(next) => async (request) => {
          for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
          return next(request);
        }] }
      : {}),
  });
  return new OttavoClient(transport);
}
