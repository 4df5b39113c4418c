-- Shared by the cart scripts that read or merge whole carts (prepended to each by the
-- Rust side: cart_read, cart_merge, cart_merge_take, cart_merge_apply).
--
-- A cart is one hash with two fields: ':u', the last change in Unix milliseconds, and
-- ':l', its lines encoded as ';SKU=QUANTITY' pairs (SKUs never contain ';' or '='),
-- so a change returns the whole cart as one string. The key expires (PEXPIREAT) at
-- ':u' + ttl; every script also treats a cart whose ':u' + ttl <= now as gone, so the
-- `now` the caller passes and Redis' own expiry agree. A cart without lines is deleted.

-- True when the cart at `key` is live at `now`; an expired cart is deleted.
local function live(key, now, ttl)
  local updated = redis.call('HGET', key, ':u')
  if not updated then
    return false
  end
  if tonumber(updated) + ttl <= now then
    redis.call('DEL', key)
    return false
  end
  return true
end

-- The last change (or false) and the encoded lines ('' when none) of the cart at `key`.
local function read(key)
  local got = redis.call('HMGET', key, ':u', ':l')
  return got[1], got[2] or ''
end

-- Encoded lines as a list of {sku, quantity}.
local function decode(encoded)
  local lines = {}
  for sku, quantity in string.gmatch(encoded, ';([^;=]+)=(%d+)') do
    lines[#lines + 1] = { sku, tonumber(quantity) }
  end
  return lines
end

-- A list of {sku, quantity} as encoded lines.
local function encode(lines)
  local parts = {}
  for i, line in ipairs(lines) do
    parts[i] = ';' .. line[1] .. '=' .. string.format('%d', line[2])
  end
  return table.concat(parts)
end

-- Stores `lines` as the cart at `key`, stamped `now` and expiring at now + ttl, or
-- deletes the cart when there are none. Returns the stamp (or false) and the encoding.
local function write(key, lines, now, ttl)
  if #lines == 0 then
    redis.call('DEL', key)
    return false, ''
  end
  local encoded = encode(lines)
  redis.call('HSET', key, ':u', now, ':l', encoded)
  redis.call('PEXPIREAT', key, now + ttl)
  return now, encoded
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

-- Merges `guest` lines into `lines` (commerce_cart's `Cart::merge_lines`): the cart's
-- own lines are kept; quantities of the same SKU are summed and capped at
-- `max_quantity`; guest lines for new SKUs are taken in SKU order while the cart has
-- fewer than `max_lines` lines and dropped after that. Returns the dropped lines as a
-- flat sku/quantity list and the capped SKUs.
local function merge_into(lines, guest, max_lines, max_quantity)
  local index = {}
  for i, line in ipairs(lines) do
    index[line[1]] = i
  end
  table.sort(guest, function(a, b) return byte_less(a[1], b[1]) end)
  local dropped, capped = {}, {}
  for _, g in ipairs(guest) do
    local sku, q = g[1], g[2]
    if q > 0 then
      local i = index[sku]
      if i then
        local current = lines[i][2]
        local sum = current + q
        if sum <= max_quantity then
          lines[i][2] = sum
        else
          lines[i][2] = math.max(current, max_quantity)
          capped[#capped + 1] = sku
        end
      else
        local take = math.min(q, max_quantity)
        if #lines >= max_lines or take == 0 then
          dropped[#dropped + 1] = sku
          dropped[#dropped + 1] = q
        else
          if take < q then
            capped[#capped + 1] = sku
          end
          lines[#lines + 1] = { sku, take }
          index[sku] = #lines
        end
      end
    end
  end
  return dropped, capped
end
