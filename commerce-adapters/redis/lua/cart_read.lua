-- Reads a cart as live at `now` (cart_common.lua is prepended).
-- KEYS[1]: the cart.  ARGV: now (ms), ttl (ms).
-- Returns {0, stamp or false, lines}.
local key = KEYS[1]
if not live(key, tonumber(ARGV[1]), tonumber(ARGV[2])) then
  return { 0, false, '' }
end
local updated, lines = read(key)
return { 0, updated, lines }
