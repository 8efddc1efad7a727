-- Prepended to every BookMyGig script (see redis.rs). ARGV[1] is always the key prefix.
--
-- Lua numbers are doubles: integers are written with int() (tostring and cjson would print
-- 1e+15), and JSON is assembled from strings, cjson encoding only text. Amounts that come from
-- Rust stay the exact decimal strings they arrived as.
local P = ARGV[1]

local function int(n)
  return string.format('%d', n)
end

local function gig_key(id)
  return P .. 'gig:' .. id
end

local function ticket_key(id)
  return P .. 'ticket:' .. id
end

local function holder_key(account, gig)
  return P .. 'holder:' .. account .. ':' .. gig
end

local function idem_key(owner, key)
  return P .. 'idem:' .. owner .. ':' .. key
end

-- How long an idempotency key is remembered, in seconds: IDEMPOTENCY_TTL in lib.rs.
local IDEM_TTL_SECONDS = 86400

-- A payment record: a hash of `json` (the record as Rust wrote it; Lua never re-encodes it),
-- `version`, `kind` and `final` ('1' for a final state, else '0').
local function payment_key(id)
  return P .. 'payment:' .. id
end

-- The payment a payment idempotency key names. Apart from idem_key's namespace, and without a
-- TTL: the key lives as long as its payment.
local function payment_idem_key(owner, key)
  return P .. 'paykey:' .. owner .. ':' .. key
end

-- Payment ids not in a final state, scored by next attempt (unix µs).
local function unfinished_payments_key()
  return P .. 'payments:unfinished'
end

-- A platform setting: a hash of `json` (its value as Rust wrote it; Lua never re-encodes it),
-- `version` and `updated_at` (RFC 3339).
local function setting_key(name)
  return P .. 'setting:' .. name
end

local function session_key(hash_hex)
  return P .. 'session:' .. hash_hex
end

-- The token hashes (hex) of an account's sessions, scored by expiry (unix seconds).
local function account_sessions_key(account)
  return P .. 'sessions:' .. account
end

-- Revokes every session of `account` whose hash is not `keep` ('' keeps none); returns how
-- many of them were still live.
local function revoke_sessions(account, keep)
  local index = account_sessions_key(account)
  local revoked = 0
  for _, hash in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if hash ~= keep then
      revoked = revoked + redis.call('DEL', session_key(hash))
      redis.call('ZREM', index, hash)
    end
  end
  return revoked
end

-- Adds `"memo":<text>` to a JSON object given as a string.
local function with_memo(head, memo)
  return string.sub(head, 1, -2) .. ',"memo":' .. cjson.encode(memo) .. '}'
end

-- Reads `count` field/value arguments from ARGV[first] on, as a flat list for HSET and a table.
local function fields_from(first, count)
  local flat, named = {}, {}
  for i = first, first + count - 1, 2 do
    flat[#flat + 1] = ARGV[i]
    flat[#flat + 1] = ARGV[i + 1]
    named[ARGV[i]] = ARGV[i + 1]
  end
  return flat, named
end
