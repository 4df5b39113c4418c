-- Step 2 of a merge across cluster slots: merges staged guest lines into the customer
-- cart once per merge id (cart_common.lua is prepended).
-- KEYS[1]: the customer cart; KEYS[2]: its applied-merges hash ("<cart>:merged").
-- ARGV: merge id, max_lines, max_quantity, now (ms), ttl (ms), then sku, quantity pairs.
-- Returns {0, dropped, capped, snapshot}; a repeated merge id changes nothing and
-- returns the outcome recorded the first time.
local customer, applied = KEYS[1], KEYS[2]
local id = ARGV[1]
local max_lines, max_quantity = tonumber(ARGV[2]), tonumber(ARGV[3])
local now, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])

local done = redis.call('HGET', applied, id)
if done then
  live(customer, now, ttl)
  local outcome = cjson.decode(done)
  return { 0, outcome[1], outcome[2], snapshot(customer) }
end
local lines = {}
for i = 6, #ARGV, 2 do
  lines[#lines + 1] = { ARGV[i], tonumber(ARGV[i + 1]) }
end
live(customer, now, ttl)
local dropped, capped = merge_into(customer, lines, max_lines, max_quantity)
stamp(customer, now, ttl)
-- cjson encodes an empty table as {}, which decodes back to an empty table: fine here.
redis.call('HSET', applied, id, cjson.encode({ dropped, capped }))
redis.call('PEXPIREAT', applied, now + ttl)
return { 0, dropped, capped, snapshot(customer) }
