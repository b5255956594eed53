"""The Lua scripts of `RedisCache`: each a step that must happen atomically in Redis."""

# A sliding-window counter: the previous window's count, weighted by how much of it still
# overlaps the sliding window, plus the current window's. Refused hits are not counted, so
# hammering a closed door does not keep it closed.
SLIDING_WINDOW = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local cost, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local window, elapsed = tonumber(ARGV[3]), tonumber(ARGV[4])
local weighted = previous * (window - elapsed) / window + current
if weighted + cost > limit then
  return {0, math.floor(weighted)}
end
redis.call('INCRBY', KEYS[1], cost)
redis.call('PEXPIRE', KEYS[1], window * 2)
return {1, math.floor(weighted + cost)}
"""


# An exact sliding log for sign-in failures: one sorted-set member per attempt, scored by
# its time. An attempt is let through only while fewer than `limit` attempts lie within
# the window, and is counted (reserved) in the same step, so concurrent attempts can never
# exceed the limit; a successful one is taken out again (`release`). The answer's third
# element is the milliseconds until the oldest attempt leaves the window.
ATTEMPT_LOG = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, count + 1, window}
"""


# A lease on a sliding-window allowance (the counter of _SLIDING_WINDOW, kept in one hash
# per caller: w = the window's index, c = its count, p = the previous window's). It grants
# `want` units, or fewer if fewer are free, but never fewer than `need` (then nothing):
# a request that cannot be served takes nothing from other replicas. Granted units count
# at once, whether or not they are ever spent. The clock is Redis's own, so every replica
# agrees on where a window turns. The answer: granted, previous count, current count (the
# grant included), milliseconds until the window turns, the window's index.
LEASE = """
redis.replicate_commands()
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local need, want = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local index = math.floor(now / window)
local elapsed = now - index * window
local state = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local at, count = tonumber(state[1]), tonumber(state[2]) or 0
local previous, current = 0, 0
if at == index then
  previous, current = tonumber(state[3]) or 0, count
elseif at == index - 1 then
  previous = count
end
local free = math.floor(limit - previous * (window - elapsed) / window - current)
local granted = 0
if free >= need then
  granted = math.min(want, free)
  current = current + granted
  redis.call('HSET', KEYS[1], 'w', index, 'c', current, 'p', previous)
  redis.call('PEXPIRE', KEYS[1], window * 2)
end
return {granted, previous, current, window - elapsed, index}
"""


# Versioned read: the key is the base plus the current generation counters, so entries
# written before a generation moved are never read again. Reading the counters and the
# entry in one script costs one round trip. (On a Redis Cluster the counters and the entry
# lie in different slots: `RedisCache.versioned_get` reads them with per-slot commands.)
VERSIONED_GET = """
local parts = {}
for i, counter in ipairs(KEYS) do
  parts[i] = redis.call('GET', counter) or '0'
end
local key = ARGV[1] .. '@' .. table.concat(parts, '.')
return {key, redis.call('GET', key)}
"""


# A bounded collection of entries: each entry is its own key with a TTL, and a sorted set
# (the index) scores every entry by when it expires. Adding one drops the expired from the
# index and, past the limit, deletes the entries that expire first (the oldest added). A
# new entry scores at least 1 ms past the newest, so entries added within one millisecond
# still leave in the order they came (with one TTL for all, as callers use it).
BOUNDED_SET = """
local now, ttl, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local score = now + ttl
local newest = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) >= score then
  score = tonumber(newest[2]) + 1
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[1], score, KEYS[2])
redis.call('PEXPIRE', KEYS[1], score - now)
local excess = redis.call('ZCARD', KEYS[1]) - limit
if excess > 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
  redis.call('DEL', unpack(oldest))
end
return excess
"""


# The index half of _BOUNDED_SET, for a Redis Cluster, where the entries lie in slots of
# their own: record KEYS[2] (a name, stored by the caller) and answer the names past the
# limit, dropped from the index here and deleted by the caller.
BOUNDED_INDEX = """
local now, ttl, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local score = now + ttl
local newest = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) >= score then
  score = tonumber(newest[2]) + 1
end
redis.call('ZADD', KEYS[1], score, ARGV[4])
redis.call('PEXPIRE', KEYS[1], score - now)
local excess = redis.call('ZCARD', KEYS[1]) - limit
if excess > 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
  return oldest
end
return {}
"""
