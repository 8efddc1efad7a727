-- Registers a gig and books its listing fee in one step: when the creator cannot pay, nothing
-- is written.
-- ARGV: prefix, gig id, entry head JSON, field count n, n gig field/value arguments, then the
-- fee's (ledger account, amount) pairs.
local id, head, count = ARGV[2], ARGV[3], tonumber(ARGV[4])
local gig = gig_key(id)
if redis.call('EXISTS', gig) == 1 then
  return redis.error_reply('gig ' .. id .. ' already exists')
end
local flat, fields = fields_from(5, count)
local postings = postings_from(5 + count)
local refusal = check_floor(postings)
if refusal then
  return refusal
end
book(head, postings)
redis.call('HSET', gig, unpack(flat))
redis.call('ZADD', P .. 'gigs:by_start', fields.starts_at_us, id)
redis.call('ZADD', P .. 'gigs:creator:' .. fields.creator, 0, id)
redis.call('SET', P .. 'streamkey:' .. fields.stream_key_hash, id)
return { 'ok' }
