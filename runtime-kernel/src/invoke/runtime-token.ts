import { Code, ConnectError } from "@connectrpc/connect";
import { tokenMatcher } from "../server/auth";

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
 * not this runtime's, with UNAUTHENTICATED; compared in constant time as the API
 * token is. With OTTAVO_API_TOKEN set, the API token step has checked the same
 * header already, so invoke.token must then equal the API token (or be unset).
 */
export function runtimeTokenCheck(expected: string | undefined): (presented: string | undefined) => void {
  if (expected === undefined) return () => undefined;
  const matches = tokenMatcher(expected);
  return (presented) => {
    if (!matches(presented)) {
      throw new ConnectError("a call forwarded by another runtime must carry this runtime's token (dapr-api-token)", Code.Unauthenticated);
    }
  };
}
