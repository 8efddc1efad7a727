-- Revokes every session of an account (sign out everywhere).
-- ARGV: prefix, account id.
return { 'ok', tostring(revoke_sessions(ARGV[2], '')) }
