-- The ledger's rules for the Redis store, beside their Rust twin (rules.rs, for the embedded
-- store): the conformance suite and the ledger property tests run both backends through the
-- same cases, so the two cannot drift apart unnoticed. Loaded after backend/redis/prelude.lua
-- (P, int) and before each script that books money.
--
-- Balances live in one hash (`balances`: ledger account -> integer micro-USD); each account's
-- entries in a sorted set scored by the global sequence `ledger:seq`.

-- The balance of a ledger account as its exact decimal string ('0' if it never moved).
local function balance(account)
  return redis.call('HGET', P .. 'balances', account) or '0'
end

-- Reads postings given as (ledger account, amount) argument pairs from ARGV[first] on.
local function postings_from(first)
  local postings = {}
  for i = first, #ARGV - 1, 2 do
    postings[#postings + 1] = { ARGV[i], ARGV[i + 1] }
  end
  return postings
end

-- Checks, without writing, that no user wallet would go below zero; returns the refusal or nil.
local function check_floor(postings)
  local running = {}
  for _, posting in ipairs(postings) do
    local account, amount = posting[1], tonumber(posting[2])
    if amount ~= 0 then
      local current = running[account] or tonumber(balance(account))
      if string.sub(account, 1, 5) == 'user:' and current + amount < 0 then
        return { 'insufficient_funds', int(current), int(-amount) }
      end
      running[account] = current + amount
    end
  end
  return nil
end

-- Books postings as one transaction: moves each balance and appends an entry (global sequence,
-- balance after) to the account's history. Zero postings are skipped. `head` is the JSON object
-- of the fields every entry of the transaction shares. Returns the entries' JSON.
local function book(head, postings)
  local open = string.sub(head, 1, -2)
  local entries = {}
  for _, posting in ipairs(postings) do
    local account, amount = posting[1], posting[2]
    if tonumber(amount) ~= 0 then
      local after = redis.call('HINCRBY', P .. 'balances', account, amount)
      local seq = int(redis.call('INCR', P .. 'ledger:seq'))
      local entry = open .. ',"seq":' .. seq .. ',"amount":' .. amount
        .. ',"balance_after":' .. int(after) .. '}'
      redis.call('ZADD', P .. 'entries:' .. account, seq, entry)
      entries[#entries + 1] = entry
    end
  end
  return entries
end
