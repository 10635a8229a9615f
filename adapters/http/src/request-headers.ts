/**
 * The request headers the binding sends: built from the invocation's metadata
 * (Dapr: every metadata entry but "path" is a header), with fetch's defaults, and
 * kept by lower-case name so redirects can drop headers whatever their spelling.
 */

/** Request headers by lower-case name, each with the spelling it is sent under. */
export type HeaderList = Map<string, { name: string; value: string }>;

/** Headers the binding or the connection manages itself; metadata under these names is not sent. */
const managedHeaders = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "expect",
  "te",
  "trailer",
]);

/**
 * Sent unless metadata sets them; the headers the binding sent when it used fetch
 * (less fetch's browser-only accept-language "*" and sec-fetch-mode "cors").
 */
const defaultHeaders: readonly [string, string][] = [
  ["Accept", "*/*"],
  ["User-Agent", "node"],
  ["Accept-Encoding", "gzip, deflate"],
];

const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The headers for an invocation's metadata: "path", names or values HTTP cannot
 * carry, managed headers and (when an allow-list is given, lower-case) names not
 * on it are left out; the defaults fill in what is not set.
 */
export function requestHeaders(metadata: Record<string, string>, allowed?: ReadonlySet<string>): HeaderList {
  const headers: HeaderList = new Map();
  for (const [key, raw] of Object.entries(metadata)) {
    const lower = key.toLowerCase();
    if (key === "path" || !headerName.test(key) || managedHeaders.has(lower)) continue;
    if (allowed !== undefined && !allowed.has(lower)) continue;
    if (!headerValue.test(raw)) continue;
    const value = raw.replace(/^[\t ]+|[\t ]+$/g, "");
    // Names differing only in case are one header, their values joined (as fetch's Headers did).
    const known = headers.get(lower);
    headers.set(lower, known === undefined ? { name: key, value } : { name: known.name, value: `${known.value}, ${value}` });
  }
  for (const [name, value] of defaultHeaders) {
    if (!headers.has(name.toLowerCase())) headers.set(name.toLowerCase(), { name, value });
  }
  return headers;
}

/** A copy of headers without the given (lower-case) names. */
export function without(headers: HeaderList, names: readonly string[]): HeaderList {
  const kept = new Map(headers);
  for (const name of names) kept.delete(name);
  return kept;
}
