-- Removes a platform setting by compare-and-set: its stored version must be the expected one,
-- else nothing is removed (a missing setting is a conflict too).
-- ARGV: prefix, name, expected version.
local name, expected = ARGV[2], ARGV[3]

local setting = setting_key(name)
if redis.call('HGET', setting, 'version') ~= expected then
  return { 'setting_conflict' }
end
redis.call('DEL', setting)
return { 'ok' }
