-- Sets the quantity of one line; 0 removes it (cart_common.lua is prepended).
-- KEYS[1]: the cart.
-- ARGV: sku, quantity (>= 0), max_lines, max_quantity, now (ms), ttl (ms).
-- Returns {0, snapshot} | {1, requested} (quantity limit) | {2} (line limit).
local key, sku = KEYS[1], ARGV[1]
local requested = tonumber(ARGV[2])
local max_lines, max_quantity = tonumber(ARGV[3]), tonumber(ARGV[4])
local now, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])

local is_live = live(key, now, ttl)
if requested == 0 then
  if is_live then
    redis.call('HDEL', key, sku)
    stamp(key, now, ttl)
  end
  return { 0, snapshot(key) }
end
if requested > max_quantity then
  return { 1, requested }
end
local current, lines = 0, 0
if is_live then
  current = quantity(key, sku)
  lines = line_count(key)
end
if current == 0 and lines >= max_lines then
  return { 2 }
end
redis.call('HSET', key, sku, requested)
stamp(key, now, ttl)
return { 0, snapshot(key) }
