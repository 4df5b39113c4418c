-- Extends a valid session.
-- KEYS[1]: the session hash.
-- ARGV: current generation of its customer, now (ms), new expiry (ms), remaining ttl (ms).
-- Returns {} when the session is missing, expired at `now` or of an older generation;
-- otherwise {customer id, created (ms), expires (ms), role} after extending (never
-- shortening); the role is `customer` for a session stored without one.
local key = KEYS[1]
local s = redis.call('HMGET', key, 'c', 'g', 'ca', 'ea', 'r')
if not s[1] or s[2] ~= ARGV[1] or tonumber(s[4]) <= tonumber(ARGV[2]) then
  return {}
end
if tonumber(ARGV[3]) > tonumber(s[4]) then
  redis.call('HSET', key, 'ea', ARGV[3])
  redis.call('PEXPIRE', key, ARGV[4])
  s[4] = ARGV[3]
end
return { s[1], s[3], s[4], s[5] or 'customer' }
