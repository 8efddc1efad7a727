-- Books one transaction (the caller has checked that it balances) unless a user wallet would
-- go below zero. With an idempotency key, the first booking's entries are remembered and a
-- retry gets them back without moving money.
-- ARGV: prefix, key owner ('' without a key), idempotency key, entry head JSON, then the
-- (ledger account, amount) pairs.
local owner, key, head = ARGV[2], ARGV[3], ARGV[4]
local idem = nil
if owner ~= '' then
  idem = idem_key(owner, key)
  local remembered = redis.call('GET', idem)
  if remembered then
    return { 'replayed', remembered }
  end
end
local postings = postings_from(5)
local refusal = check_floor(postings)
if refusal then
  return refusal
end
local entries = '[' .. table.concat(book(head, postings), ',') .. ']'
if idem then
  redis.call('SET', idem, '{"entries":' .. entries .. '}', 'EX', IDEM_TTL_SECONDS)
end
return { 'ok', entries }
