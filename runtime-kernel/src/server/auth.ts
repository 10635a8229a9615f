import { timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CallStep } from "./pipeline";

/** The header carrying the API token: Dapr's convention (Layotto has none), which Dapr SDKs send from DAPR_API_TOKEN. */
export const apiTokenHeader = "dapr-api-token";

/** Services open without a token: health checking, which probes (kubelet's gRPC probe) cannot authenticate. */
const openServices = new Set(["grpc.health.v1.Health"]);

/**
 * Compares a presented token with the configured one in constant time: neither
 * the configured token's contents nor its length show in the timing.
 */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  return tokenMatcher(expected)(presented);
}

/**
 * tokenMatches for one expected token. A presented token of another length is
 * refused after comparing the expected token with itself, which takes as long
 * as comparing one of the right length (no hash per call: a SHA-256 object per
 * call was a measurable share of a forwarded invocation's cost).
 */
export function tokenMatcher(expected: string): (presented: string | undefined) => boolean {
  const wanted = Buffer.from(expected, "utf8");
  return (presented) => {
    if (presented === undefined) return false;
    const given = Buffer.from(presented, "utf8");
    const sameLength = given.length === wanted.length;
    return timingSafeEqual(sameLength ? given : wanted, wanted) && sameLength;
  };
}

/**
 * The pipeline step that requires the API token (OTTAVO_API_TOKEN) on every call
 * of every protocol and path: UNAUTHENTICATED when the dapr-api-token header is
 * missing or wrong. The message never echoes what was sent.
 */
export function apiTokenStep(token: string): CallStep {
  const matches = tokenMatcher(token);
  return {
    name: "api-token",
    begin(call) {
      if (openServices.has(call.service)) return;
      if (!matches(call.header(apiTokenHeader))) {
        throw new ConnectError(`a valid API token is required: send it in the '${apiTokenHeader}' header`, Code.Unauthenticated);
      }
    },
  };
}

/** The token from a header value of an HTTP request: dapr-api-token, or "Authorization: Bearer <token>". */
export function presentedHttpToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  const direct = headers[apiTokenHeader];
  if (typeof direct === "string") return direct;
  const authorization = headers.authorization;
  if (typeof authorization === "string" && /^bearer /i.test(authorization)) return authorization.slice(7).trim();
  return undefined;
}
