-- One attempt against a sliding-window log (a sorted set of hit times).
-- KEYS[1]: the log.
-- ARGV: now (ms), window (ms), max hits, unique member for this hit.
-- A hit at t counts while now - t < window. Returns {1, remaining, 0} when allowed
-- (the hit is recorded) or {0, 0, retry_after_ms} when denied (nothing recorded).
local key = KEYS[1]
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])

redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < max then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return { 1, max - count - 1, 0 }
end
-- The hit whose leaving brings the count under the limit (the oldest one unless the
-- limit was lowered since the hits were counted).
local freeing = redis.call('ZRANGE', key, count - max, count - max, 'WITHSCORES')
return { 0, 0, tonumber(freeing[2]) + window - now }
