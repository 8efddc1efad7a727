-- Records a new payment and books its transaction in one step: when a wallet cannot pay,
-- nothing is written, the record included. With an idempotency key the owner used before for
-- a payment, that payment is answered unchanged and nothing is booked.
-- ARGV: prefix, payment id, owner id, kind, '1' when there is an idempotency key (else '0'),
-- the key, record JSON (version 1), '1' when its state is final (else '0'), next attempt
-- (unix µs), entry head JSON ('' without a booking), then the booking's (ledger account,
-- amount) pairs.
local id, owner, kind, has_key, key = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local json, final, next_us, head = ARGV[7], ARGV[8], ARGV[9], ARGV[10]

local idem = nil
if has_key == '1' then
  idem = payment_idem_key(owner, key)
  local first = redis.call('GET', idem)
  if first then
    local stored_kind, stored = unpack(redis.call('HMGET', payment_key(first), 'kind', 'json'))
    if not stored then
      return redis.error_reply('payment key ' .. key .. ' points nowhere')
    end
    if stored_kind ~= kind then
      return { 'idempotency_key_reused' }
    end
    return { 'replayed', stored }
  end
end
local payment = payment_key(id)
if redis.call('EXISTS', payment) == 1 then
  return { 'payment_conflict' }
end
local postings = postings_from(11)
local refusal = check_floor(postings)
if refusal then
  return refusal
end
book(head, postings)
redis.call('HSET', payment, 'json', json, 'version', '1', 'kind', kind, 'final', final)
redis.call('ZADD', P .. 'payments:' .. owner .. ':' .. kind, 0, id)
if final == '0' then
  redis.call('ZADD', unfinished_payments_key(), next_us, id)
end
if idem then
  redis.call('SET', idem, id)
end
return { 'ok', json }
