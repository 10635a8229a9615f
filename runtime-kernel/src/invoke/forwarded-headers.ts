/**
 * Which headers cross the runtime on an invocation, in each direction. The call
 * between app and runtime is gRPC and the call to an HTTP service is HTTP/1.1, so
 * what describes one connection or one protocol (hop-by-hop headers, framing,
 * gRPC's and Connect's own headers) stays where it is, and so do the runtime's
 * own (its API token, its hop counter). Everything else travels as is, both ways,
 * as Dapr and Layotto forward metadata.
 */

/** RFC 9110 section 7.6.1's hop-by-hop headers, plus those HTTP/2 forbids (RFC 9113 section 8.2.2). */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
  "host",
]);

/** The body's framing and encoding: the runtime sets its own on each side. */
const framing = new Set(["content-length", "content-type", "content-encoding", "accept-encoding"]);

/** The token a runtime checks (Dapr's header name, which Ottavo's API token uses too). */
export const apiTokenHeader = "dapr-api-token";

/** How many runtimes a call has crossed; a runtime delivers a call that already crossed one to its own app only. */
export const invokeHopsHeader = "ottavo-invoke-hops";

/** Headers the runtime sets or reads itself and never passes on. */
function isRuntimeInternal(name: string): boolean {
  return name === apiTokenHeader || name.startsWith("ottavo-") || name === "user-agent";
}

function isProtocolHeader(name: string): boolean {
  return name.startsWith(":") || name.startsWith("grpc-") || name.startsWith("connect-");
}

/** Whether a header of the caller's request is passed on to the target. Names are lower case. */
export function forwardsRequestHeader(name: string): boolean {
  return !hopByHop.has(name) && !framing.has(name) && !isProtocolHeader(name) && !isRuntimeInternal(name);
}

/** Whether a header of the target's answer is passed back to the caller. Names are lower case. */
export function forwardsResponseHeader(name: string): boolean {
  return !hopByHop.has(name) && !framing.has(name) && !isProtocolHeader(name) && name !== "date" && name !== apiTokenHeader;
}

/** Request headers as node:http2 gives them (lower-case names; pseudo-headers start with ":"). */
export type RawHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The forwardable entries of raw HTTP/2 request headers (the gRPC fast path's), without making a Headers object. */
export function requestHeadersOfRaw(headers: RawHeaders): Array<readonly [string, string]> {
  const kept: Array<readonly [string, string]> = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || !forwardsRequestHeader(name)) continue;
    if (typeof value === "string") kept.push([name, value]);
    else for (const one of value) kept.push([name, one]);
  }
  return kept;
}

/** The forwardable entries of a Fetch-API Headers (Connect's request header), lower-case names. */
export function requestHeadersOf(headers: Headers): Array<readonly [string, string]> {
  const kept: Array<readonly [string, string]> = [];
  headers.forEach((value, name) => {
    if (forwardsRequestHeader(name)) kept.push([name, value]);
  });
  return kept;
}
