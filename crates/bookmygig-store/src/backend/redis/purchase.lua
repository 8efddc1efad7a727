-- Buys a ticket. Every check and the whole booking run in this one script, so concurrent
-- purchases can neither oversell a gig nor overdraw a wallet, and a retry with the same
-- idempotency key is answered with the first ticket and moves no money. The checks run in the
-- order of the Store contract: idempotency, gig exists, not own gig, on sale, not yet a holder,
-- a seat left, funds.
-- ARGV: prefix, ticket id, gig id, buyer id, idempotency key, commission bps, purchase time as
-- unix seconds and nanoseconds within the second, purchase time (RFC 3339), entry head JSON
-- (without memo).
local ticket_id, gig_id, buyer, key = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local bps, at_s, at_ns = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local at, head = ARGV[9], ARGV[10]

local idem = idem_key(buyer, key)
local remembered = redis.call('GET', idem)
if remembered then
  local decoded, first = pcall(cjson.decode, remembered)
  if decoded and type(first) == 'table' and first.gig_id == gig_id then
    return { 'replayed', redis.call('HGETALL', ticket_key(first.ticket_id)) }
  end
  return { 'idempotency_key_reused' }
end

local gig = gig_key(gig_id)
local creator, state, ends_s, ends_ns, capacity, sold, price, title = unpack(redis.call('HMGET',
  gig, 'creator', 'state', 'ends_at_s', 'ends_at_ns', 'capacity', 'sold', 'price', 'title'))
if not creator then
  return { 'gig_not_found' }
end
if creator == buyer then
  return { 'own_gig' }
end
-- The end is compared to the nanosecond as (seconds, nanoseconds), both exact as doubles.
ends_s, ends_ns = tonumber(ends_s), tonumber(ends_ns)
if state == 'cancelled' or at_s > ends_s or (at_s == ends_s and at_ns >= ends_ns) then
  return { 'gig_closed' }
end
local held = redis.call('GET', holder_key(buyer, gig_id))
if held then
  return { 'already_holder', redis.call('HGETALL', ticket_key(held)) }
end
capacity = tonumber(capacity)
if capacity >= 0 and tonumber(sold) >= capacity then
  return { 'sold_out' }
end
local buyer_account = 'user:' .. buyer
local buyer_balance = balance(buyer_account)
if tonumber(buyer_balance) < tonumber(price) then
  return { 'insufficient_funds', buyer_balance, price }
end

-- Exact in doubles: price <= 10^10 and bps <= 10^4 keep the product far below 2^53, and the
-- quotient's rounding error far below 1/10^4, so floor() rounds down like Money::basis_points.
local commission = math.floor(tonumber(price) * bps / 10000)
local share = tonumber(price) - commission
book(with_memo(head, 'Ticket: ' .. title), {
  { buyer_account, int(-tonumber(price)) },
  { 'user:' .. creator, int(share) },
  { 'platform:revenue', int(commission) },
})
local ticket = ticket_key(ticket_id)
redis.call('HSET', ticket, 'id', ticket_id, 'gig_id', gig_id, 'holder_id', buyer,
  'price', price, 'purchased_at', at, 'status', 'valid',
  'creator_share', int(share), 'commission', int(commission))
redis.call('SET', holder_key(buyer, gig_id), ticket_id)
redis.call('ZADD', P .. 'tickets:holder:' .. buyer, 0, ticket_id)
redis.call('ZADD', P .. 'tickets:gig:' .. gig_id, 0, ticket_id)
redis.call('HINCRBY', gig, 'sold', 1)
redis.call('SET', idem, '{"gig_id":"' .. gig_id .. '","ticket_id":"' .. ticket_id .. '"}',
  'EX', IDEM_TTL_SECONDS)
return { 'ok', redis.call('HGETALL', ticket) }
