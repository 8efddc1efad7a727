-- Appends a chat message and forgets the oldest beyond the newest `keep`, in one step.
-- ARGV: prefix, gig id, message id, record JSON, keep.
local ids, records = P .. 'chat:' .. ARGV[2], P .. 'chatmsg:' .. ARGV[2]
local id, keep = ARGV[3], tonumber(ARGV[5])
-- Score 0 everywhere: members then sort by their text, which for UUIDv7 is sending order.
redis.call('ZADD', ids, 0, id)
redis.call('HSET', records, id, ARGV[4])
local excess = redis.call('ZCARD', ids) - keep
if excess > 0 then
  local oldest = redis.call('ZRANGE', ids, 0, excess - 1)
  redis.call('ZREMRANGEBYRANK', ids, 0, excess - 1)
  redis.call('HDEL', records, unpack(oldest))
end
return { 'ok' }
