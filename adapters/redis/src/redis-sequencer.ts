import type { CallContext } from "@ottavo/component-runtime";
import { ResourceExhaustedError } from "@ottavo/generated/components/errors";
import type { NextIdRequest, Segment, SegmentRequest } from "@ottavo/generated/components/sequencer";
import {
  defineRedisSequencerAdapter,
  redisSequencerFeatures,
  type RedisSequencer as RedisSequencerContract,
} from "@ottavo/generated/components/adapters/redis";
import { readBiggerThan } from "@ottavo/adapter-kit";
import { RedisConnection } from "./redis-connection";
import { RedisScript } from "./redis-script";

/**
 * Raises KEYS[1] to the floor ARGV[1] (a positive decimal) unless it is already at
 * or above it: 1 when raised, 0 when left alone. One script, so two runtimes
 * starting together never lower a sequence the other has already advanced. The
 * comparison is on decimal strings (length, then digits): Lua numbers are doubles
 * and would round int64 values beyond 2^53.
 */
const floorScript = new RedisScript(
  "ottavoSequencerFloor",
  `
local current = redis.call('GET', KEYS[1])
if current ~= false then
  if not string.match(current, '^-?%d+$') then
    return redis.error_reply('ERR key ' .. KEYS[1] .. ' does not hold an integer, so it cannot be a sequence')
  end
  if string.sub(current, 1, 1) ~= '-' then
    local digits = (string.gsub(current, '^0+(%d)', '%1'))
    local floor = ARGV[1]
    if #digits > #floor or (#digits == #floor and digits >= floor) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`,
);

/**
 * The "redis" sequencer: a sequence is a string key holding the last id handed
 * out; nextId is INCR, reserveSegment(size) is INCRBY size and answers the block
 * (v - size + 1 .. v). Both are atomic on the server, so ids are unique and
 * increasing across every runtime sharing the Redis. A missing key starts at 1.
 * Replies are read as decimal strings and kept as bigint: ids are int64.
 */
export class RedisSequencer implements RedisSequencerContract {
  readonly features = new Set(redisSequencerFeatures);

  constructor(private readonly connection: RedisConnection) {
    floorScript.define(connection.client);
  }

  /** Applies biggerThan floors (keys as stored); called once at start. */
  async applyFloors(floors: ReadonlyMap<string, bigint>): Promise<void> {
    for (const [key, floor] of floors) {
      await this.connection.call(() => floorScript.run(this.connection.client, [key], [floor.toString()]));
    }
  }

  async nextId(request: NextIdRequest, context?: CallContext): Promise<bigint> {
    const reply = await this.connection.call(() => exhaustible(request.key, this.connection.client.incr(request.key)), context);
    return readId(request.key, reply);
  }

  async reserveSegment(request: SegmentRequest, context?: CallContext): Promise<Segment> {
    // size is a whole number, at least 1 (sequencer.cap, checked by the adapter binding).
    const reply = await this.connection.call(() =>
      exhaustible(request.key, this.connection.client.incrby(request.key, request.size)),
      context,
    );
    const to = readId(request.key, reply);
    return { from: to - BigInt(request.size) + 1n, to };
  }

  health(): Promise<void> {
    return this.connection.health();
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** The "redis" sequencer adapter, as the registry holds it. */
export const redisSequencerAdapter = defineRedisSequencerAdapter(async (metadata, context) => {
  const floors = readBiggerThan(context);
  const sequencer = new RedisSequencer(await RedisConnection.open(metadata, { componentName: context.componentName, stringNumbers: true }));
  try {
    await sequencer.applyFloors(floors);
  } catch (error) {
    await sequencer.close();
    throw error;
  }
  return sequencer;
});

/** INCR past the int64 maximum is the end of the sequence, as in the in-memory sequencer. */
async function exhaustible<T>(key: string, reply: Promise<T>): Promise<T> {
  try {
    return await reply;
  } catch (error) {
    const message = (error as { message?: unknown } | null)?.message;
    if (typeof message === "string" && /would overflow/.test(message)) {
      throw new ResourceExhaustedError(`sequence '${key}' has reached the int64 maximum`);
    }
    throw error;
  }
}

/** An id from an INCR reply: with stringNumbers the client answers decimal text. */
function readId(key: string, reply: unknown): bigint {
  const text = typeof reply === "string" || typeof reply === "number" ? String(reply) : "";
  if (!/^-?\d+$/.test(text)) throw new Error(`unexpected reply for sequence '${key}' from redis`);
  return BigInt(text);
}
