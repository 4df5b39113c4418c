-- Shared by every cart script (prepended to each one by the Rust side).
--
-- A cart is one hash: field = SKU, value = quantity (at least 1); the field ':u' holds
-- the last change as Unix milliseconds. The key expires (PEXPIREAT) at ':u' + ttl, and
-- every script also treats a cart whose ':u' + ttl <= now as gone, so the `now` the
-- caller passes and Redis' own expiry agree. SKUs never contain ':', so metadata
-- fields cannot collide with lines.

local UPDATED = ':u'

-- True when the cart at `key` is live at `now`; an expired cart is deleted.
local function live(key, now, ttl)
  local updated = redis.call('HGET', key, UPDATED)
  if not updated then
    return false
  end
  if tonumber(updated) + ttl <= now then
    redis.call('DEL', key)
    return false
  end
  return true
end

-- Number of lines in the cart at `key`.
local function line_count(key)
  local n = redis.call('HLEN', key)
  if redis.call('HEXISTS', key, UPDATED) == 1 then
    n = n - 1
  end
  return n
end

-- Quantity of `sku` in the cart at `key` (0 when absent).
local function quantity(key, sku)
  return tonumber(redis.call('HGET', key, sku) or '0')
end

-- Stamps the cart with `now` and moves its expiry to now + ttl, or deletes it when it
-- has no lines left.
local function stamp(key, now, ttl)
  redis.call('HDEL', key, UPDATED)
  if redis.call('EXISTS', key) == 0 then
    return
  end
  redis.call('HSET', key, UPDATED, now)
  redis.call('PEXPIREAT', key, now + ttl)
end

-- The cart at `key` as a flat field/value list (lines and ':u'), or {} when absent.
local function snapshot(key)
  return redis.call('HGETALL', key)
end

-- Byte-wise string order (Rust's order of SKUs; Lua's `<` follows the locale).
local function byte_less(a, b)
  local la, lb = #a, #b
  for i = 1, math.min(la, lb) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return la < lb
end

-- The lines of a flat field/value list, as { {sku, quantity}, ... }, metadata skipped.
local function lines_of(flat)
  local lines = {}
  for i = 1, #flat, 2 do
    local field = flat[i]
    if string.sub(field, 1, 1) ~= ':' then
      lines[#lines + 1] = { field, tonumber(flat[i + 1]) }
    end
  end
  return lines
end

-- Merges guest `lines` into the cart at `key` (commerce_cart's `Cart::merge_lines`):
-- the cart's own lines are kept; quantities of the same SKU are summed and capped at
-- `max_quantity`; guest lines for new SKUs are taken in SKU order while the cart has
-- fewer than `max_lines` lines and dropped after that. Returns the dropped lines as a
-- flat sku/quantity list and the capped SKUs.
local function merge_into(key, lines, max_lines, max_quantity)
  table.sort(lines, function(a, b) return byte_less(a[1], b[1]) end)
  local dropped, capped = {}, {}
  local count = line_count(key)
  for _, line in ipairs(lines) do
    local sku, q = line[1], line[2]
    if q > 0 then
      local current = quantity(key, sku)
      if current > 0 then
        local sum = current + q
        if sum <= max_quantity then
          redis.call('HSET', key, sku, sum)
        else
          redis.call('HSET', key, sku, math.max(current, max_quantity))
          capped[#capped + 1] = sku
        end
      else
        local take = math.min(q, max_quantity)
        if count >= max_lines or take == 0 then
          dropped[#dropped + 1] = sku
          dropped[#dropped + 1] = q
        else
          if take < q then
            capped[#capped + 1] = sku
          end
          redis.call('HSET', key, sku, take)
          count = count + 1
        end
      end
    end
  end
  return dropped, capped
end
