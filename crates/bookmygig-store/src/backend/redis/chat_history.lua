-- The newest messages of a gig's chat, oldest first, read in one consistent step.
-- ARGV: prefix, gig id, how many (at least 1).
local ids = redis.call('ZRANGE', P .. 'chat:' .. ARGV[2], -tonumber(ARGV[3]), -1)
if #ids == 0 then
  return { 'ok', {} }
end
return { 'ok', redis.call('HMGET', P .. 'chatmsg:' .. ARGV[2], unpack(ids)) }
