import { RedisScript } from "./redis-script";

/**
 * The Lua scripts of the Redis state store. An item is a hash with fields `data`
 * and `version` (Dapr's layout); a key holding a plain string (written with
 * redis-cli SET, as Layotto's quickstarts do) is an item without a version.
 *
 * Redis runs a script atomically, but does not roll back what a failing script
 * already wrote: so every check comes first, and the writes after them use only
 * commands that cannot fail on the keys they were checked against.
 */

/**
 * Shared by the scripts: an item's version, false when the key does not exist, -1
 * when it exists without a version (a plain string, or a hash without a numeric
 * version field), so that no etag matches it.
 */
const versionOf = `
local function versionOf(key)
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'none' then return false end
  if kind == 'hash' then
    local version = tonumber(redis.call('HGET', key, 'version'))
    if version then return version end
  end
  return -1
end
`;

/**
 * Reads one item: {data, version, pttl} ('' for no version; pttl in ms, negative
 * without expiry), or an empty reply when the key does not exist.
 */
export const getScript = new RedisScript(
  "ottavoStateGet",
  `
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return {} end
if kind == 'hash' then
  local fields = redis.call('HMGET', KEYS[1], 'data', 'version')
  local version = fields[2]
  if not version or not tonumber(version) then version = '' end
  return {fields[1] or '', version, redis.call('PTTL', KEYS[1])}
end
if kind == 'string' then
  return {redis.call('GET', KEYS[1]), '', redis.call('PTTL', KEYS[1])}
end
return redis.error_reply('WRONGTYPE key ' .. KEYS[1] .. ' holds a ' .. kind .. ', not a state item')
`,
);

/** How many ARGV entries each operation of applyScript takes. */
export const argsPerOperation = 5;

/**
 * Applies operations all or nothing: set, delete, bulk writes and transactions all
 * run through it (one operation for a single set or delete).
 *
 * KEYS[i] is operation i's key; ARGV holds, per operation, five entries: kind
 * ("set" or "delete"), value, etag ("" for none), first-write ("1" or "0") and ttl
 * (seconds > 0 sets an expiry, 0 removes any).
 *
 * First every condition is checked, against the versions as the earlier
 * operations of the same call leave them; on the first failure nothing is written
 * and the reply is {i, current}: the failing operation's index and its key's
 * version then (-2 missing, -1 without version). Otherwise every write is applied
 * and the reply is {0, 0}. A set stores version + 1 (1 for a new key or one
 * without version); a delete removes the key.
 */
export const applyScript = new RedisScript(
  "ottavoStateApply",
  `${versionOf}
local staged = {}
local versions = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local base = (i - 1) * ${argsPerOperation}
  local current = staged[key]
  if current == nil then current = versionOf(key) end
  local etag = ARGV[base + 3]
  if etag ~= '' then
    if current == false or current ~= tonumber(etag) then
      if current == false then return {i, -2} end
      return {i, current}
    end
  elseif ARGV[base + 4] == '1' and current ~= false then
    return {i, current}
  end
  if ARGV[base + 1] == 'set' then
    if current == false or current < 0 then versions[i] = 1 else versions[i] = current + 1 end
    staged[key] = versions[i]
  else
    staged[key] = false
  end
end
for i = 1, #KEYS do
  local key = KEYS[i]
  local base = (i - 1) * ${argsPerOperation}
  if ARGV[base + 1] == 'set' then
    local kind = redis.call('TYPE', key)['ok']
    if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', key) end
    redis.call('HSET', key, 'data', ARGV[base + 2], 'version', versions[i])
    local ttl = tonumber(ARGV[base + 5])
    if ttl > 0 then redis.call('EXPIRE', key, ttl) else redis.call('PERSIST', key) end
  else
    redis.call('DEL', key)
  end
end
return {0, 0}
`,
);
