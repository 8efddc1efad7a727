-- The payments not in a final state, earliest next attempt first, read in one consistent step.
-- ARGV: prefix, the index of the last one to read (how many less one, at least 0).
local ids = redis.call('ZRANGE', unfinished_payments_key(), 0, ARGV[2])
local records = {}
for _, id in ipairs(ids) do
  local json = redis.call('HGET', payment_key(id), 'json')
  if json then
    records[#records + 1] = json
  end
end
return { 'ok', records }
