-- Writes a new session.
-- KEYS[1]: the session hash (named by the token digest).
-- ARGV: customer id, generation, created (ms), expires (ms), ttl (ms, > 0), role
-- (`customer`, `admin` or `seller:<seller id>`).
-- Returns 1, or 0 when a session with this digest already exists (never overwritten).
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then
  return 0
end
redis.call('HSET', key, 'c', ARGV[1], 'g', ARGV[2], 'ca', ARGV[3], 'ea', ARGV[4], 'r', ARGV[6])
redis.call('PEXPIRE', key, ARGV[5])
return 1
