// The Lua scripts that keep the limits of every node in Redis, each run atomically by Redis so that two
// nodes admitting at once cannot both take the last place. The rules are the ones a single process
// applies (listeners/admission.ts): at a limit the oldest connection still signing in is closed to
// make room, whichever node holds it; signed-in sessions are never closed for room.
//
// Keys (P is redis.prefix):
//   P nodes                          hash  node -> its last heartbeat (ms, Redis's clock)
//   P node:NODE                      hash  "pool|sid" -> client address: what NODE holds
//   P pool:POOL:all / :unauth        zset  "node|sid" by admission time: sessions / those signing in
//   P pool:POOL:addr:ADDR:all / …    zset  the same for one client address
//   P fail:POOL:ADDR                 count of failed sign-ins in the throttle's window
//   P rate:KEY                       zset  of submission times in the window
// A node that stops sending heartbeats is taken out with everything it held by the next heartbeat of
// any other node. Keys are built inside the scripts, so this wants one Redis server, not Redis Cluster.

const PRELUDE = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local p = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function forget(pool, member)
  local bar = string.find(member, '|', 1, true)
  local node, sid = string.sub(member, 1, bar - 1), string.sub(member, bar + 1)
  local held = p .. 'node:' .. node
  local base = p .. 'pool:' .. pool .. ':'
  local addr = redis.call('HGET', held, pool .. '|' .. sid)
  redis.call('ZREM', base .. 'all', member)
  redis.call('ZREM', base .. 'unauth', member)
  if addr then
    redis.call('ZREM', base .. 'addr:' .. addr .. ':all', member)
    redis.call('ZREM', base .. 'addr:' .. addr .. ':unauth', member)
    redis.call('HDEL', held, pool .. '|' .. sid)
  end
end
local function hold(pool, node, sid, addr, signedIn, score)
  local member = node .. '|' .. sid
  local base = p .. 'pool:' .. pool .. ':'
  redis.call('ZADD', base .. 'all', score, member)
  redis.call('ZADD', base .. 'addr:' .. addr .. ':all', score, member)
  if signedIn then
    redis.call('ZREM', base .. 'unauth', member)
    redis.call('ZREM', base .. 'addr:' .. addr .. ':unauth', member)
  else
    redis.call('ZADD', base .. 'unauth', score, member)
    redis.call('ZADD', base .. 'addr:' .. addr .. ':unauth', score, member)
  end
  redis.call('HSET', p .. 'node:' .. node, pool .. '|' .. sid, addr)
  -- a node that dies before its first heartbeat is still swept
  redis.call('HSETNX', p .. 'nodes', node, score)
end
local function forget_node(node)
  local held = redis.call('HGETALL', p .. 'node:' .. node)
  for i = 1, #held, 2 do
    local key = held[i]
    local bar = string.find(key, '|', 1, true)
    forget(string.sub(key, 1, bar - 1), node .. '|' .. string.sub(key, bar + 1))
  end
  redis.call('DEL', p .. 'node:' .. node)
end
`;

/**
 * ARGV: prefix, pool, address, node, sid, total, perAddress, unauthenticated, unauthenticatedPerAddress,
 * "1" when the session counts as signed in from the start.
 * Returns [refusedBy or "", limit, evicted member, ...]. Each session chosen to make room is announced
 * on P evict ("node|pool<TAB>sid") by the script itself, so the word reaches its node even when this
 * answer is lost (a timeout).
 */
const admit = `
local pool, addr, node, sid = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local base = p .. 'pool:' .. pool .. ':'
local counted = { base .. 'addr:' .. addr .. ':unauth', base .. 'addr:' .. addr .. ':all', base .. 'unauth', base .. 'all' }
local room = { counted[1], counted[1], counted[3], counted[3] }
local limits = { tonumber(ARGV[9]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[6]) }
local names = { 'maxUnauthenticatedPerAddress', 'maxChannelsPerAddress', 'maxUnauthenticated', 'maxChannels' }
local out = {}
for i = 1, 4 do
  if redis.call('ZCARD', counted[i]) >= limits[i] then
    local oldest = redis.call('ZRANGE', room[i], 0, 0)[1]
    if not oldest then
      table.insert(out, 1, names[i])
      return out
    end
    forget(pool, oldest)
    local bar = string.find(oldest, '|', 1, true)
    redis.call('PUBLISH', p .. 'evict', string.sub(oldest, 1, bar - 1) .. '|' .. pool .. '\t' .. string.sub(oldest, bar + 1))
    table.insert(out, names[i])
    table.insert(out, oldest)
  end
end
hold(pool, node, sid, addr, ARGV[10] == '1', now_ms())
table.insert(out, 1, '')
return out
`;

/** ARGV: prefix, pool, node, sid. */
const signedIn = `
local member = ARGV[3] .. '|' .. ARGV[4]
local addr = redis.call('HGET', p .. 'node:' .. ARGV[3], ARGV[2] .. '|' .. ARGV[4])
if not addr then return 0 end
local base = p .. 'pool:' .. ARGV[2] .. ':'
redis.call('ZREM', base .. 'unauth', member)
redis.call('ZREM', base .. 'addr:' .. addr .. ':unauth', member)
return 1
`;

/** ARGV: prefix, pool, node, sid. */
const released = `
forget(ARGV[2], ARGV[3] .. '|' .. ARGV[4])
return 1
`;

/** ARGV: prefix, pool, node, sid, address: a session chosen to make room had signed in; it is counted again. */
const kept = `
hold(ARGV[2], ARGV[3], ARGV[4], ARGV[5], true, now_ms())
return 1
`;

/**
 * ARGV: prefix, node, dead-after ms, the least and the most sessions Redis may count for the node (it
 * holds the most; the difference are admissions on their way), "1" to replace what the node holds by
 * the quadruples that follow (pool, sid, address, "1" if signed in) or "0". Records the heartbeat and
 * sweeps nodes whose last one is older than dead-after. Returns 0 when nothing was replaced and Redis's
 * view of the node is wrong: the node was not known (Redis restarted, or swept it while it was away) or
 * Redis counts a number of sessions for it outside that range; else 1.
 */
const heartbeat = `
local node, dead = ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local known = redis.call('HEXISTS', p .. 'nodes', node) == 1
local counted = redis.call('HLEN', p .. 'node:' .. node)
if counted < tonumber(ARGV[4]) or counted > tonumber(ARGV[5]) then known = false end
if ARGV[6] == '1' then
  forget_node(node)
  for i = 7, #ARGV, 4 do hold(ARGV[i], node, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3] == '1', now) end
  known = true
end
redis.call('HSET', p .. 'nodes', node, now)
local nodes = redis.call('HGETALL', p .. 'nodes')
for i = 1, #nodes, 2 do
  if now - tonumber(nodes[i + 1]) > dead then
    forget_node(nodes[i])
    redis.call('HDEL', p .. 'nodes', nodes[i])
  end
end
if known then return 1 end
return 0
`;

/** ARGV: prefix, node: the node stops; what it held is given back at once. */
const leave = `
forget_node(ARGV[2])
redis.call('HDEL', p .. 'nodes', ARGV[2])
return 1
`;

/** ARGV: prefix, pool, address, window ms. Returns the failures in the window, this one included. */
const failed = `
local key = p .. 'fail:' .. ARGV[2] .. ':' .. ARGV[3]
local n = redis.call('INCR', key)
redis.call('PEXPIRE', key, ARGV[4])
return n
`;

/** ARGV: prefix, key, max, window ms, a unique name for this event. Returns 1 when within the rate (and counted), else 0. */
const rate = `
local key = p .. 'rate:' .. ARGV[2]
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - tonumber(ARGV[4]))
if redis.call('ZCARD', key) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', key, now, ARGV[5])
redis.call('PEXPIRE', key, ARGV[4])
return 1
`;

export const SCRIPTS = { admit, signedIn, released, kept, heartbeat, leave, failed, rate } as const;
export type ScriptName = keyof typeof SCRIPTS;

/** The whole Lua text of a script (the shared functions first). */
export function scriptText(name: ScriptName): string {
  return PRELUDE + SCRIPTS[name];
}
