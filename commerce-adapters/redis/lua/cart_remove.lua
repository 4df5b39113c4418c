-- Removes one line (cart_common.lua is prepended).
-- KEYS[1]: the cart.
-- ARGV: sku, now (ms), ttl (ms).
-- Returns {0, snapshot}.
local key, sku = KEYS[1], ARGV[1]
local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])

if live(key, now, ttl) then
  redis.call('HDEL', key, sku)
  stamp(key, now, ttl)
end
return { 0, snapshot(key) }
