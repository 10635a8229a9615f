/**
 * Sending one request over node:http / node:https and following its redirects as
 * fetch does, up to the final response's head; its body is left to the caller.
 */
import * as http from "node:http";
import * as https from "node:https";
import { without, type HeaderList } from "./request-headers";
import { basicAuth } from "./url-credentials";

/** Redirects are followed as fetch follows them: these statuses, at most 20 in a row. */
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const maxRedirects = 20;
/** Headers describing the body, dropped when a redirect turns the request into a GET without one. */
const bodyHeaders = ["content-encoding", "content-language", "content-location", "content-type"];

/** Responses to HEAD and with these statuses have no body to decode. */
const statusesWithoutBody = new Set([204, 205, 304]);

/** The agent a request to a protocol ("http:" or "https:") goes through. */
export type AgentFor = (protocol: string) => http.Agent;

export interface Answer {
  response: http.IncomingMessage;
  /** Whether the response has a body the decoders apply to. */
  hasBody: boolean;
}

/** Sends the request and follows redirects; resolves with the final response, its body unread. */
export async function exchange(
  address: string,
  method: string,
  headers: HeaderList,
  body: Buffer | undefined,
  signal: AbortSignal,
  agentFor: AgentFor,
  followRedirects = false,
): Promise<Answer> {
  let url = new URL(address);
  for (let redirects = 0; ; redirects++) {
    const response = await send(url, method, headers, body, signal, agentFor);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (!followRedirects || !redirectStatuses.has(status) || location === undefined) {
      return { response, hasBody: method !== "HEAD" && !statusesWithoutBody.has(status) };
    }
    response.destroy(); // a redirect's body is not read; its connection is not reused
    if (redirects === maxRedirects) throw new Error(`more than ${maxRedirects} redirects`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new Error(`answered ${status} with a Location that is not a URL: ${JSON.stringify(location)}`);
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw new Error(`answered ${status} redirecting to a ${next.protocol} URL, which is not followed`);
    }
    if (((status === 301 || status === 302) && method === "POST") || (status === 303 && method !== "GET" && method !== "HEAD")) {
      method = "GET";
      body = undefined;
      headers = without(headers, bodyHeaders);
    }
    // Only to the same origin: another host or port could be anything the endpoint names, the caller's
    // network included, and would receive the request's headers (an API key among them).
    if (next.origin !== url.origin) {
      throw new Error(`answered ${status} redirecting to another origin (${next.origin}), which is not followed`);
    }
    url = next;
  }
}

/** One request on the wire; resolves when the response's head has arrived. */
function send(
  url: URL,
  method: string,
  headers: HeaderList,
  body: Buffer | undefined,
  signal: AbortSignal,
  agentFor: AgentFor,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const outgoing: http.OutgoingHttpHeaders = {};
    for (const { name, value } of headers.values()) outgoing[name] = value;
    const credentials = basicAuth(url);
    if (credentials !== undefined && !headers.has("authorization")) outgoing["Authorization"] = credentials;
    if (body !== undefined) outgoing["Content-Length"] = body.byteLength;

    const request = (url.protocol === "https:" ? https : http).request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"), // IPv6 literals without brackets
      port: url.port === "" ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method,
      headers: outgoing,
      agent: agentFor(url.protocol),
    });
    const onAbort = (): void => {
      request.destroy(signal.reason as Error);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    // Stays attached after the response: a late socket error must not go unhandled.
    request.on("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
    request.on("response", (response) => {
      signal.removeEventListener("abort", onAbort);
      resolve(response);
    });
    request.end(body);
  });
}
