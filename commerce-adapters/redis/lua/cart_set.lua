-- Sets the quantity of one line; 0 removes it (also used for `remove`).
-- KEYS[1]: the cart (a hash: ':u' = last change in Unix ms, ':l' = ';SKU=QTY' pairs;
-- see cart_common.lua).
-- ARGV: sku, quantity (>= 0), max_lines, max_quantity, now (ms), ttl (ms).
-- Returns {0, stamp or false, lines} (the cart after the change) | {1, requested}
-- (quantity limit, nothing changed) | {2} (line limit, nothing changed).
local key, sku = KEYS[1], ARGV[1]
local requested = tonumber(ARGV[2])
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
local after = nil
if at then
  after = string.find(lines, ';', value_end + 1, true) or (#lines + 1)
end
local updated
if requested == 0 then
  if lines == '' then
    return { 0, false, '' }
  end
  updated = lines
  if at then
    updated = string.sub(lines, 1, at - 1) .. string.sub(lines, after)
  end
  if updated == '' then
    redis.call('DEL', key)
    return { 0, false, '' }
  end
else
  if requested > tonumber(ARGV[4]) then
    return { 1, requested }
  end
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
end
redis.call('HSET', key, ':u', now, ':l', updated)
redis.call('PEXPIREAT', key, now + ttl)
return { 0, now, updated }
