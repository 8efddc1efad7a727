-- Cancels a gig and refunds every valid ticket in ONE ledger transaction: each holder gets the
-- full price back, the creator returns the creator shares and platform:revenue the commissions
-- recorded on the tickets. If the creator's wallet cannot cover the shares nothing is written.
-- Cancelling a cancelled gig changes nothing.
-- ARGV: prefix, gig id, entry head JSON (without memo).
local id, head = ARGV[2], ARGV[3]
local gig = gig_key(id)
local state, creator, title = unpack(redis.call('HMGET', gig, 'state', 'creator', 'title'))
if not state then
  return { 'gig_not_found' }
end
if state == 'cancelled' then
  return { 'ok', redis.call('HGETALL', gig) }
end
local postings, refunded = {}, {}
local shares, commissions = 0, 0
for _, ticket_id in ipairs(redis.call('ZRANGE', P .. 'tickets:gig:' .. id, 0, -1)) do
  local ticket = ticket_key(ticket_id)
  local status, holder, price, share, commission = unpack(redis.call(
    'HMGET', ticket, 'status', 'holder_id', 'price', 'creator_share', 'commission'))
  if status == 'valid' then
    postings[#postings + 1] = { 'user:' .. holder, price }
    shares = shares + tonumber(share)
    commissions = commissions + tonumber(commission)
    refunded[#refunded + 1] = ticket
  end
end
if #refunded > 0 then
  local creator_account = 'user:' .. creator
  local creator_balance = balance(creator_account)
  if tonumber(creator_balance) < shares then
    return { 'insufficient_funds', creator_balance, int(shares) }
  end
  postings[#postings + 1] = { creator_account, int(-shares) }
  postings[#postings + 1] = { 'platform:revenue', int(-commissions) }
  book(with_memo(head, 'Refund: ' .. title .. ' (cancelled)'), postings)
  for _, ticket in ipairs(refunded) do
    redis.call('HSET', ticket, 'status', 'refunded')
  end
end
redis.call('HSET', gig, 'state', 'cancelled', 'sold', '0')
return { 'ok', redis.call('HGETALL', gig) }
