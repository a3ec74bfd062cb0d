-- Herald history: reads a page of a channel's stream together with its
-- position, atomically, so the page and the position agree.
--
-- KEYS[1] stream, KEYS[2] meta hash (e = epoch, s = top offset).
-- ARGV[1] epoch to use if the stream has none, ARGV[2] meta TTL ms (0 =
-- keep as is), ARGV[3] "1" when a since position is given, ARGV[4] since
-- offset, ARGV[5] since epoch, ARGV[6] limit (-1 = all), ARGV[7] "1" for
-- reverse.
-- Returns {top, epoch, ok (1, or 0 = unrecoverable), id1, body1, ...}.

local epoch = redis.call('hget', KEYS[2], 'e')
local top = '0'
local ttl = tonumber(ARGV[2])
if not epoch then
  -- Create the position now so that the epoch reported is the one the next
  -- publication will carry.
  epoch = ARGV[1]
  redis.call('del', KEYS[1])
  redis.call('hset', KEYS[2], 'e', epoch, 's', 0)
  if ttl > 0 then
    redis.call('pexpire', KEYS[2], ttl)
  end
else
  top = redis.call('hget', KEYS[2], 's') or '0'
  if ttl > 0 then
    -- A reader only extends an expiring position, never shortens one.
    local left = redis.call('pttl', KEYS[2])
    if left >= 0 and left < ttl then
      redis.call('pexpire', KEYS[2], ttl)
    end
  end
end

local ntop = tonumber(top)
local gone = ntop
local first = redis.call('xrange', KEYS[1], '-', '+', 'COUNT', 1)
if #first > 0 then
  gone = tonumber(string.match(first[1][1], '^(%d+)')) - 1
end

local limit = tonumber(ARGV[6])
local out = {top, epoch, 1}
local entries = nil

local function count(args)
  if limit > 0 then
    table.insert(args, 'COUNT')
    table.insert(args, limit)
  end
  return args
end

if ARGV[3] == '1' and ARGV[7] == '1' then
  -- Paging backwards: the publications before since, newest first.
  if ARGV[5] ~= '' and ARGV[5] ~= epoch then
    out[3] = 0
    return out
  end
  local before = tonumber(ARGV[4])
  if before <= gone + 1 or limit == 0 then
    return out
  end
  local args = count({'xrevrange', KEYS[1], tostring(before - 1) .. '-0', '-'})
  entries = redis.call(unpack(args))
else
  local after = gone
  if ARGV[3] == '1' then
    local since = tonumber(ARGV[4])
    if ARGV[5] ~= epoch or since > ntop or since < gone then
      out[3] = 0
      return out
    end
    after = since
  end
  if limit == 0 or after >= ntop then
    return out
  end
  local from = tostring(after + 1) .. '-0'
  local args
  if ARGV[7] == '1' then
    args = count({'xrevrange', KEYS[1], '+', from})
  else
    args = count({'xrange', KEYS[1], from, '+'})
  end
  entries = redis.call(unpack(args))
end

for _, e in ipairs(entries) do
  table.insert(out, e[1])
  table.insert(out, e[2][2])
end
return out
