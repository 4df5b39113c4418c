-- Adds units to one line, with the limits checked in the same step.
-- KEYS[1]: the cart (a hash: ':u' = last change in Unix ms, ':l' = ';SKU=QTY' pairs;
-- see cart_common.lua).
-- ARGV: sku, quantity (>= 1), max_lines, max_quantity, now (ms), ttl (ms).
-- Returns {0, stamp, lines} (the cart after the change) | {1, requested} (quantity
-- limit, nothing changed) | {2} (line limit, nothing changed).
-- String operations instead of cart_common's table helpers: this is the hot path.
local key, sku = KEYS[1], ARGV[1]
local now, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])

local got = redis.call('HMGET', key, ':u', ':l')
local lines = ''
if got[1] then
  if tonumber(got[1]) + ttl <= now then
    redis.call('DEL', key)
  else
    lines = got[2] or ''
  end
end
local marker = ';' .. sku .. '='
local at, value_end = string.find(lines, marker, 1, true)
local current, after = 0, nil
if at then
  after = string.find(lines, ';', value_end + 1, true) or (#lines + 1)
  current = tonumber(string.sub(lines, value_end + 1, after - 1))
end
local requested = current + tonumber(ARGV[2])
if requested > tonumber(ARGV[4]) then
  return { 1, requested }
end
local updated
if at then
  updated = string.sub(lines, 1, value_end) .. string.format('%d', requested)
    .. string.sub(lines, after)
else
  local _, count = string.gsub(lines, ';', ';')
  if count >= tonumber(ARGV[3]) then
    return { 2 }
  end
  updated = lines .. marker .. string.format('%d', requested)
end
redis.call('HSET', key, ':u', now, ':l', updated)
redis.call('PEXPIREAT', key, now + ttl)
return { 0, now, updated }
