import type { Redis } from "ioredis";
import { RedisScript, type ScriptArgument } from "./redis-script";
import { streamEntry, type StreamEntry } from "./stream-entry";

/**
 * KEYS[1]: the stream; KEYS[2], when given: the dead-letter stream.
 * ARGV: group, consumer, maxDeliveries (0: no limit), the dead-letter XADD's trim
 * option ("" for none, "MAXLEN" or "MINID") and its threshold, then pairs of a
 * message id and the idle time (ms) it must have reached.
 *
 * For each message still pending and idle long enough, in one atomic step:
 * - delivered maxDeliveries times, with a dead-letter stream: its fields are added
 *   to that stream and the message acknowledged; answers {2, id};
 * - otherwise: claimed for the consumer (XCLAIM counts a delivery); answers
 *   {1, id, fields, times delivered};
 * - an entry trimmed from the stream meanwhile is acknowledged; answers {3, id}.
 * Checking idleness inside the script makes two runtimes racing for the same
 * message agree: the first one's claim resets its idle time, so the second skips it.
 */
const reclaimScript = new RedisScript(
  "ottavoStreamReclaim",
  `
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local maxDeliveries = tonumber(ARGV[3])
local out = {}
for i = 6, #ARGV, 2 do
  local id, minIdle = ARGV[i], tonumber(ARGV[i + 1])
  local pending = redis.call('XPENDING', stream, group, id, id, 1)[1]
  if pending and pending[3] >= minIdle then
    local deliveries = pending[4]
    if KEYS[2] and maxDeliveries > 0 and deliveries >= maxDeliveries then
      local entry = redis.call('XRANGE', stream, id, id)[1]
      if entry then
        local args = {KEYS[2]}
        if ARGV[4] ~= '' then
          args[#args + 1] = ARGV[4]
          args[#args + 1] = '~'
          args[#args + 1] = ARGV[5]
        end
        args[#args + 1] = '*'
        for _, value in ipairs(entry[2]) do args[#args + 1] = value end
        redis.call('XADD', unpack(args))
        out[#out + 1] = {2, id}
      else
        out[#out + 1] = {3, id}
      end
      redis.call('XACK', stream, group, id)
    else
      local claimed = redis.call('XCLAIM', stream, group, consumer, minIdle, id)[1]
      if claimed and claimed[2] then
        out[#out + 1] = {1, id, claimed[2], deliveries + 1}
      else
        redis.call('XACK', stream, group, id)
        out[#out + 1] = {3, id}
      end
    end
  end
end
return out
`,
);

/**
 * KEYS[1]: the stream. ARGV: group, consumer, then message ids. Resets the idle
 * time of each message the consumer still owns (XCLAIM JUSTID to itself, which
 * does not count a delivery); answers how many it touched. A message another
 * consumer has claimed meanwhile is left alone.
 */
const touchScript = new RedisScript(
  "ottavoStreamTouch",
  `
local touched = 0
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)[1]
  if pending and pending[2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    touched = touched + 1
  end
end
return touched
`,
);

/** Makes the stream scripts callable on a client; once per client. */
export function defineStreamScripts(client: Redis): void {
  reclaimScript.define(client);
  touchScript.define(client);
}

/** A stream and consumer group, and who is acting on it. */
export interface StreamGroup {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
}

/** Where and how dead letters go: the stream, and the trim option of the XADD that adds them. */
export interface DeadLetter {
  readonly stream: string;
  readonly maxDeliveries: number;
  /** [] or [option, threshold], as publish trims. */
  readonly trim: readonly [] | readonly ["MAXLEN" | "MINID", string];
}

/** What happened to one due message. */
export type ReclaimOutcome =
  | { readonly kind: "claimed"; readonly entry: StreamEntry; readonly deliveries: number }
  | { readonly kind: "dead-lettered"; readonly id: string }
  | { readonly kind: "gone"; readonly id: string };

/** Claims or dead-letters messages that are still pending and idle for at least their given time. */
export async function reclaim(
  client: Redis,
  at: StreamGroup,
  deadLetter: DeadLetter | undefined,
  due: readonly { readonly id: string; readonly minIdleMs: number }[],
): Promise<ReclaimOutcome[]> {
  if (due.length === 0) return [];
  const keys = deadLetter === undefined ? [at.stream] : [at.stream, deadLetter.stream];
  const [trimOption, trimThreshold] = deadLetter?.trim ?? [];
  const args: ScriptArgument[] = [at.group, at.consumer, deadLetter?.maxDeliveries ?? 0, trimOption ?? "", trimThreshold ?? ""];
  for (const { id, minIdleMs } of due) args.push(id, Math.floor(minIdleMs));
  const reply = await reclaimScript.runBuffer(client, keys, args);
  return (Array.isArray(reply) ? reply : []).flatMap(outcome);
}

/** Resets the idle time of the messages the consumer holds; answers how many it still owned. */
export async function touch(client: Redis, at: StreamGroup, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return Number(await touchScript.run(client, [at.stream], [at.group, at.consumer, ...ids]));
}

function outcome(item: unknown): ReclaimOutcome[] {
  if (!Array.isArray(item) || !Buffer.isBuffer(item[1])) return [];
  const id = item[1].toString("utf8");
  switch (item[0]) {
    case 1: {
      const entry = streamEntry([item[1], item[2]]);
      return entry === undefined ? [] : [{ kind: "claimed", entry, deliveries: Number(item[3]) }];
    }
    case 2:
      return [{ kind: "dead-lettered", id }];
    default:
      return [{ kind: "gone", id }];
  }
}
