-- Adds units to one line (cart_common.lua is prepended).
-- KEYS[1]: the cart.
-- ARGV: sku, quantity (>= 1), max_lines, max_quantity, now (ms), ttl (ms).
-- Returns {0, snapshot} | {1, requested} (quantity limit) | {2} (line limit).
local key, sku = KEYS[1], ARGV[1]
local add = tonumber(ARGV[2])
local max_lines, max_quantity = tonumber(ARGV[3]), tonumber(ARGV[4])
local now, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])

local current = 0
local lines = 0
if live(key, now, ttl) then
  current = quantity(key, sku)
  lines = line_count(key)
end
local requested = current + add
if requested > max_quantity then
  return { 1, requested }
end
if current == 0 and lines >= max_lines then
  return { 2 }
end
redis.call('HSET', key, sku, requested)
stamp(key, now, ttl)
return { 0, snapshot(key) }
