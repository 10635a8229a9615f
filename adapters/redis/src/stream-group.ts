import type { Redis } from "ioredis";

/**
 * Creates the consumer group from the start of the stream (creating the stream
 * too), so a group's first subscription also receives what was published before
 * it; a group that exists already is left as it is.
 */
export async function ensureGroup(client: Redis, stream: string, group: string): Promise<void> {
  try {
    await client.xgroup("CREATE", stream, group, "0", "MKSTREAM");
  } catch (error) {
    if (!isReplyError(error, "BUSYGROUP")) throw error;
  }
}

/** Whether Redis refused a command with this error code (the reply's first word: NOGROUP, BUSYGROUP...). */
export function isReplyError(error: unknown, code: string): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { name?: unknown }).name === "ReplyError" &&
    typeof (error as { message?: unknown }).message === "string" &&
    (error as { message: string }).message.startsWith(`${code} `)
  );
}
