-- Reads fields of a cache entry and hands out its fill token.
--
-- An entry is one hash: field 'g' is the fill token, the others are cached values. An
-- entry gets its token (and its bounded expiry) when first read; invalidation deletes
-- the whole hash, so a fill holding an older token is refused (see cache_fill.lua):
-- a value read from the system of record before an invalidating event can never be
-- cached after it.
-- KEYS[1]: the entry.  ARGV: candidate token, ttl (ms), then the fields to read.
-- Returns {token, {value or nil, ...}}.
local key = KEYS[1]
local token = redis.call('HGET', key, 'g')
if not token then
  token = ARGV[1]
  redis.call('HSET', key, 'g', token)
  redis.call('PEXPIRE', key, ARGV[2], 'NX')
end
return { token, redis.call('HMGET', key, unpack(ARGV, 3)) }
