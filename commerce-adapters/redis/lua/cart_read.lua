-- Reads a cart as live at `now` (cart_common.lua is prepended).
-- KEYS[1]: the cart.  ARGV: now (ms), ttl (ms).
-- Returns {0, snapshot}.
local key = KEYS[1]
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
live(key, now, ttl)
return { 0, snapshot(key) }
