-- Step 1 of a merge across cluster slots: moves the guest cart aside (same slot), with
-- the target and a merge id, so a crash never loses its lines: a retry resumes from
-- here (cart_common.lua is prepended).
-- KEYS[1]: the guest cart; KEYS[2]: its staging key ("<guest cart>:merging").
-- ARGV: target customer key (as the cart key text), merge id, now (ms), ttl (ms).
-- Returns {0} when there is nothing to merge, or {1, target, merge id, staged lines}
-- (the pending merge, possibly one started earlier).
local guest, staging = KEYS[1], KEYS[2]
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])

if redis.call('EXISTS', staging) == 1 then
  local pending = redis.call('HMGET', staging, ':into', ':id', ':l')
  return { 1, pending[1], pending[2], pending[3] or '' }
end
if not live(guest, now, ttl) then
  return { 0 }
end
redis.call('RENAME', guest, staging)
redis.call('HSET', staging, ':into', ARGV[1], ':id', ARGV[2])
redis.call('PEXPIREAT', staging, now + ttl)
local _, lines = read(staging)
return { 1, ARGV[1], ARGV[2], lines }
