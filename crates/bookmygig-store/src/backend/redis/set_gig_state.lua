-- Sets a gig's stored state, unless it is cancelled (a cancelled gig never comes back).
-- ARGV: prefix, gig id, state.
local gig = gig_key(ARGV[2])
local state = redis.call('HGET', gig, 'state')
if not state then
  return { 'gig_not_found' }
end
if state == 'cancelled' then
  return { 'gig_closed' }
end
redis.call('HSET', gig, 'state', ARGV[3])
return { 'ok', redis.call('HGETALL', gig) }
