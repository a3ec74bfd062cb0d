-- Herald publish: stores one publication in a channel's stream (when history
-- is on), assigns its offset, remembers an idempotency result and fans the
-- publication out over PUB/SUB, all in one atomic step so that offsets and
-- PUB/SUB order agree.
--
-- KEYS[1] stream, KEYS[2] meta hash (e = epoch, s = top offset),
-- KEYS[3] idempotency result (unused when ARGV[7] is "0").
-- ARGV[1] PUB/SUB channel, ARGV[2] kind byte, ARGV[3] encoded body,
-- ARGV[4] history size (0 = no history), ARGV[5] history TTL ms,
-- ARGV[6] meta TTL ms (0 = no expiry), ARGV[7] idempotency TTL ms,
-- ARGV[8] epoch to use if the stream has none, ARGV[9] the PUB/SUB publish
-- command: publish, or spublish on a Redis Cluster (the channel then shares
-- the keys' hash slot), or '' to store only, for a broker that carries
-- publications itself.
-- Returns {suppressed (0/1), "offset:epoch"}.

if ARGV[7] ~= '0' then
  local prev = redis.call('get', KEYS[3])
  if prev then
    return {1, prev}
  end
end

local offset, epoch = '0', ''
if ARGV[4] ~= '0' then
  epoch = redis.call('hget', KEYS[2], 'e')
  if not epoch then
    -- A new epoch starts a new stream: entries left from a forgotten
    -- generation would clash with the restarted offsets.
    epoch = ARGV[8]
    redis.call('del', KEYS[1])
    redis.call('hset', KEYS[2], 'e', epoch)
  end
  offset = tostring(redis.call('hincrby', KEYS[2], 's', 1))
  redis.call('xadd', KEYS[1], 'MAXLEN', ARGV[4], offset .. '-0', 'd', ARGV[3])
  redis.call('pexpire', KEYS[1], ARGV[5])

  local ttl = tonumber(ARGV[6])
  if ttl > 0 then
    local left = redis.call('pttl', KEYS[2])
    if left < 0 or left < ttl then
      redis.call('pexpire', KEYS[2], ttl)
    end
  else
    redis.call('persist', KEYS[2])
  end
end

if ARGV[9] ~= '' then
  redis.call(ARGV[9], ARGV[1], ARGV[2] .. offset .. ':' .. epoch .. ':' .. ARGV[3])
end

local res = offset .. ':' .. epoch
if ARGV[7] ~= '0' then
  redis.call('set', KEYS[3], res, 'PX', ARGV[7])
end
return {0, res}
