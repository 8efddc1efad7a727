-- Writes a platform setting by compare-and-set: with no expected version ('') there must be
-- none yet; otherwise the stored version must be the expected one. Else nothing is written.
-- ARGV: prefix, name, expected version ('' to create), next version, value JSON, updated_at
-- (RFC 3339).
local name, expected, version, json, updated_at = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

local setting = setting_key(name)
local stored = redis.call('HGET', setting, 'version')
if expected == '' then
  if stored then
    return { 'setting_conflict' }
  end
elseif stored ~= expected then
  return { 'setting_conflict' }
end
redis.call('HSET', setting, 'json', json, 'version', version, 'updated_at', updated_at)
return { 'ok' }
