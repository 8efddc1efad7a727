-- Revokes one session and takes it out of its account's index.
-- ARGV: prefix, token hash (hex).
local hash = ARGV[2]
local record = redis.call('GET', session_key(hash))
if record then
  local account = cjson.decode(record).account_id
  redis.call('ZREM', account_sessions_key(account), hash)
  redis.call('DEL', session_key(hash))
end
return { 'ok' }
