-- Replaces a gig's details and re-files it under its new start, unless it is cancelled or the
-- new capacity (-1 = unlimited) is under the tickets sold at this instant.
-- ARGV: prefix, gig id, field count n, n detail field/value arguments.
local id, count = ARGV[2], tonumber(ARGV[3])
local gig = gig_key(id)
local state, sold = unpack(redis.call('HMGET', gig, 'state', 'sold'))
if not state then
  return { 'gig_not_found' }
end
if state == 'cancelled' then
  return { 'gig_closed' }
end
local flat, fields = fields_from(4, count)
local capacity = tonumber(fields.capacity)
if capacity >= 0 and capacity < tonumber(sold) then
  return { 'capacity_below_sold', sold }
end
redis.call('HSET', gig, unpack(flat))
redis.call('ZADD', P .. 'gigs:by_start', fields.starts_at_us, id)
return { 'ok', redis.call('HGETALL', gig) }
