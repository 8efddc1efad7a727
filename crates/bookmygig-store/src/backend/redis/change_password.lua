-- Replaces an account's record (its new password hash) if it is still the one the caller read,
-- and revokes every session of the account but the caller's, in one step.
-- ARGV: prefix, account id, the record as read (JSON), the new record (JSON), token hash (hex)
-- of the session to keep.
local account, read, record, keep = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local current = redis.call('GET', P .. 'account:' .. account)
if not current then
  return { 'account_not_found' }
end
if current ~= read then
  return { 'changed' }
end
redis.call('SET', P .. 'account:' .. account, record)
return { 'ok', tostring(revoke_sessions(account, keep)) }
