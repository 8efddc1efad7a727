-- Removes one message from a gig's chat history and returns its record.
-- ARGV: prefix, gig id, message id.
local records = P .. 'chatmsg:' .. ARGV[2]
local record = redis.call('HGET', records, ARGV[3])
if not record then
  return { 'not_found' }
end
redis.call('HDEL', records, ARGV[3])
redis.call('ZREM', P .. 'chat:' .. ARGV[2], ARGV[3])
return { 'ok', record }
