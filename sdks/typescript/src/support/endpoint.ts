/** Where the runtime listens when nothing says otherwise (Layotto's default gRPC port). */
export const defaultEndpoint = "127.0.0.1:34904";

/**
 * The runtime's gRPC address, from the environment: OTTAVO_GRPC_ENDPOINT
 * (host:port or a URL), else Layotto's runtime_GRPC_HOST / runtime_GRPC_PORT,
 * else Dapr's DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT, else 127.0.0.1:34904.
 * Answers a base URL (http://host:port).
 */
export function resolveEndpoint(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const given = nonEmpty(env.OTTAVO_GRPC_ENDPOINT);
  if (given) return asUrl(given);
  const layottoPort = nonEmpty(env.runtime_GRPC_PORT);
  const layottoHost = nonEmpty(env.runtime_GRPC_HOST);
  if (layottoPort || layottoHost) return asUrl(`${layottoHost ?? "127.0.0.1"}:${layottoPort ?? "34904"}`);
  const dapr = nonEmpty(env.DAPR_GRPC_ENDPOINT);
  if (dapr) return asUrl(dapr);
  const daprPort = nonEmpty(env.DAPR_GRPC_PORT);
  if (daprPort) return asUrl(`127.0.0.1:${daprPort}`);
  return asUrl(defaultEndpoint);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function asUrl(address: string): string {
  if (/^https?:\/\//.test(address)) return address.replace(/\/+$/, "");
  if (/^[a-z]+:\/\//i.test(address)) throw new Error(`runtime endpoint ${address}: only http:// and https:// (or host:port) are supported`);
  return `http://${address}`;
}
