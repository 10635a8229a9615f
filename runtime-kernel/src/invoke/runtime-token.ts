import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The secret runtimes present to each other when one forwards a call to
 * another's app: `invoke.token` in the config, else OTTAVO_INVOKE_TOKEN, else the
 * API token (OTTAVO_API_TOKEN), so runtimes that share an API token need nothing more.
 */
export function runtimeToken(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = configured ?? env.OTTAVO_INVOKE_TOKEN ?? env.OTTAVO_API_TOKEN;
  return token === undefined || token === "" ? undefined : token;
}

/**
 * Refuses a forwarded call (one that crossed a runtime already) whose token is
 * not this runtime's, with UNAUTHENTICATED; compared in constant time (both sides
 * hashed first, so their lengths do not show either).
 */
export function checkRuntimeToken(expected: string | undefined, presented: string | null): void {
  if (expected === undefined) return;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  if (presented === null || !timingSafeEqual(digest(expected), digest(presented))) {
    throw new ConnectError("a call forwarded by another runtime must carry this runtime's token (dapr-api-token)", Code.Unauthenticated);
  }
}
