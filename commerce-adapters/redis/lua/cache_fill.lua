-- Stores values in a cache entry if it was not invalidated since the token was read.
-- KEYS[1]: the entry.  ARGV: token, then field, value pairs.
-- Returns 1 when stored, 0 when refused (invalidated or expired meanwhile). The entry
-- keeps the expiry it got when created: a fill never extends it.
if redis.call('HGET', KEYS[1], 'g') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
