-- Merges a guest cart into a customer cart atomically, for a single Redis node (both
-- keys must be served by one node; cart_common.lua is prepended).
-- KEYS[1]: the guest cart; KEYS[2]: the customer cart.
-- ARGV: max_lines, max_quantity, now (ms), ttl (ms).
-- Returns {0, dropped (flat sku/quantity), capped (skus), stamp or false, lines} with
-- the customer cart after the merge.
local guest, customer = KEYS[1], KEYS[2]
local max_lines, max_quantity = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])

local guest_live = live(guest, now, ttl)
local customer_updated, customer_lines = false, ''
if live(customer, now, ttl) then
  customer_updated, customer_lines = read(customer)
end
if not guest_live then
  return { 0, {}, {}, customer_updated, customer_lines }
end
local _, guest_lines = read(guest)
redis.call('DEL', guest)
local lines = decode(customer_lines)
local dropped, capped = merge_into(lines, decode(guest_lines), max_lines, max_quantity)
local updated, encoded = write(customer, lines, now, ttl)
return { 0, dropped, capped, updated, encoded }
