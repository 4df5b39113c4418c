-- Step 2 of a merge across cluster slots: merges staged guest lines into the customer
-- cart once per merge id (cart_common.lua is prepended).
-- KEYS[1]: the customer cart; KEYS[2]: its applied-merges hash ("<cart>:merged").
-- ARGV: merge id, max_lines, max_quantity, now (ms), ttl (ms), guest lines (encoded).
-- Returns {0, dropped, capped, stamp or false, lines}; a repeated merge id changes
-- nothing and returns the outcome recorded the first time with the cart as it is.
local customer, applied = KEYS[1], KEYS[2]
local id = ARGV[1]
local max_lines, max_quantity = tonumber(ARGV[2]), tonumber(ARGV[3])
local now, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])

local customer_updated, customer_lines = false, ''
if live(customer, now, ttl) then
  customer_updated, customer_lines = read(customer)
end
local done = redis.call('HGET', applied, id)
if done then
  local outcome = cjson.decode(done)
  return { 0, outcome[1], outcome[2], customer_updated, customer_lines }
end
local lines = decode(customer_lines)
local dropped, capped = merge_into(lines, decode(ARGV[6]), max_lines, max_quantity)
local updated, encoded = write(customer, lines, now, ttl)
-- cjson encodes an empty table as {}, which decodes back to an empty table: fine here.
redis.call('HSET', applied, id, cjson.encode({ dropped, capped }))
redis.call('PEXPIREAT', applied, now + ttl)
return { 0, dropped, capped, updated, encoded }
