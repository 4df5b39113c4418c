-- Reads the session generation of a customer ("0" when it was never revoked) and, when
-- it exists, keeps it alive at least `ttl` ms more, so it outlives every session of
-- the current generation.
-- KEYS[1]: the generation key.  ARGV: ttl (ms).
local g = redis.call('GET', KEYS[1])
if not g then
  return '0'
end
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'GT')
return g
