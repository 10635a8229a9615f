/**
 * The answer's metadata as Dapr's binding (Go's net/http) gives it: statusCode,
 * status ("200 OK") and every response header under Go's canonical name.
 */
import type * as http from "node:http";

/** statusCode, status and the response headers, several values of one header (Set-Cookie too) joined by ", ". */
export function responseMetadata(response: http.IncomingMessage): Record<string, string> {
  const status = response.statusCode ?? 0;
  const metadata: Record<string, string> = {
    statusCode: String(status),
    status: `${status} ${response.statusMessage ?? ""}`.trimEnd(),
  };
  // rawHeaders has every header line as sent (Set-Cookie once per cookie); repeated ones are joined.
  const raw = response.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = canonicalHeaderName(raw[i]!);
    const value = raw[i + 1]!;
    metadata[name] = metadata[name] === undefined ? value : `${metadata[name]}, ${value}`;
  }
  return metadata;
}

/** Go's canonical form (content-type -> Content-Type), the names Dapr's binding answers with. */
function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}
