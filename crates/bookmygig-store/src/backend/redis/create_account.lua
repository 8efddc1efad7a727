-- Creates an account and claims its handle in one step, so of two sign-ups racing for one
-- handle exactly one wins.
-- ARGV: prefix, account id, handle, account JSON.
local id, handle, record = ARGV[2], ARGV[3], ARGV[4]
if not redis.call('SET', P .. 'handle:' .. handle, id, 'NX') then
  return { 'handle_taken' }
end
redis.call('SET', P .. 'account:' .. id, record)
return { 'ok' }
