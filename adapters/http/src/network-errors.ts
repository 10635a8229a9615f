/**
 * The text a failed request's message carries: Node's network and zlib errors
 * come with terse codes (ECONNREFUSED), which are put in plain words here.
 */

/** Plain words for the commonest network errors; the error's own text and code follow. */
const reasons: Record<string, string> = {
  ECONNREFUSED: "the connection was refused",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was closed while sending",
  ETIMEDOUT: "connecting timed out",
  ENOTFOUND: "the host name was not found",
  EAI_AGAIN: "the host name could not be resolved now",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  Z_DATA_ERROR: "the response body could not be decoded",
  Z_BUF_ERROR: "the response body could not be decoded",
};

/** Duck-typed, since errors from Node's internals may come from another realm. */
export function failureText(err: unknown): string {
  if (typeof err !== "object" || err === null || !("message" in err)) return String(err);
  const { message, code } = err as { message: unknown; code?: unknown };
  const text = String(message);
  if (typeof code !== "string") return text;
  const detail = text.includes(code) ? text : `${text}, ${code}`;
  const reason = reasons[code];
  return reason === undefined ? detail : `${reason} (${detail})`;
}
