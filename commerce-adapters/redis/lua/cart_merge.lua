-- Merges a guest cart into a customer cart atomically, for a single Redis node (both
-- keys must be served by one node; cart_common.lua is prepended).
-- KEYS[1]: the guest cart; KEYS[2]: the customer cart.
-- ARGV: max_lines, max_quantity, now (ms), ttl (ms).
-- Returns {0, dropped (flat sku/quantity), capped (skus), snapshot of the customer cart}.
local guest, customer = KEYS[1], KEYS[2]
local max_lines, max_quantity = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])

local guest_live = live(guest, now, ttl)
live(customer, now, ttl)
if not guest_live then
  return { 0, {}, {}, snapshot(customer) }
end
local lines = lines_of(snapshot(guest))
redis.call('DEL', guest)
local dropped, capped = merge_into(customer, lines, max_lines, max_quantity)
stamp(customer, now, ttl)
return { 0, dropped, capped, snapshot(customer) }
