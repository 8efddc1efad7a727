-- Swaps a gig's stream key and its index entry in one step: the old key stops matching at the
-- instant the new one starts.
-- ARGV: prefix, gig id, new key, new key hash (hex).
local id, key, hash = ARGV[2], ARGV[3], ARGV[4]
local gig = gig_key(id)
local old = redis.call('HGET', gig, 'stream_key_hash')
if not old then
  return { 'gig_not_found' }
end
local old_index = P .. 'streamkey:' .. old
if redis.call('GET', old_index) == id then
  redis.call('DEL', old_index)
end
redis.call('SET', P .. 'streamkey:' .. hash, id)
redis.call('HSET', gig, 'stream_key', key, 'stream_key_hash', hash)
return { 'ok', redis.call('HGETALL', gig) }
