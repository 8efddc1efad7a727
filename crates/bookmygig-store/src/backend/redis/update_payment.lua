-- Moves a payment on by compare-and-set and books its transaction in the same step: the
-- stored version must be the one the caller read and the stored state not final, else
-- nothing is written; when a wallet cannot pay, nothing is written either.
-- ARGV: prefix, payment id, expected version, next version, record JSON (of the next
-- version), '1' when its state is final (else '0'), next attempt (unix µs), entry head JSON
-- ('' without a booking), then the booking's (ledger account, amount) pairs.
local id, expected, version, json = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local final, next_us, head = ARGV[6], ARGV[7], ARGV[8]

local payment = payment_key(id)
local stored_version, stored_final = unpack(redis.call('HMGET', payment, 'version', 'final'))
if not stored_version or stored_version ~= expected or stored_final ~= '0' then
  return { 'payment_conflict' }
end
local postings = postings_from(9)
local refusal = check_floor(postings)
if refusal then
  return refusal
end
book(head, postings)
redis.call('HSET', payment, 'json', json, 'version', version, 'final', final)
if final == '1' then
  redis.call('ZREM', unfinished_payments_key(), id)
else
  redis.call('ZADD', unfinished_payments_key(), next_us, id)
end
return { 'ok' }
