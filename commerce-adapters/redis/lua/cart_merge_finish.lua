-- Step 3 of a merge across cluster slots: drops the staged guest lines of a merge that
-- has been applied.
-- KEYS[1]: the staging key.  ARGV: merge id.
-- Returns 1 when deleted, 0 when the staging key belongs to another merge or is gone.
if redis.call('HGET', KEYS[1], ':id') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
