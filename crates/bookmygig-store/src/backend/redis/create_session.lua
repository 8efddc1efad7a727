-- Stores a session under its token hash, expiring at its end, and indexes it under its account
-- (the index forgets sessions that have expired and itself lapses with the last of them).
-- ARGV: prefix, token hash (hex), account id, session JSON, expiry (unix seconds, rounded up),
-- now (unix seconds).
local hash, account, record, exat, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local index = account_sessions_key(account)
redis.call('SET', session_key(hash), record, 'EXAT', exat)
redis.call('ZADD', index, exat, hash)
redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
-- NX gives a new index an expiry; GT only ever extends it.
redis.call('EXPIREAT', index, exat, 'NX')
redis.call('EXPIREAT', index, exat, 'GT')
return { 'ok' }
