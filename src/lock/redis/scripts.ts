/**
 * The Lua scripts behind RedisMutex. Each runs atomically on the Redis server, so "take the
 * lock and draw a fencing token", "release only if still mine (and wake waiters)" and "extend
 * only if still mine" cannot interleave with another client's commands.
 */

/**
 * KEYS[1] lock key, KEYS[2] fencing counter; ARGV[1] owner id, ARGV[2] TTL in ms.
 * Returns {1, token} when acquired, {0, remaining ms of the current holder} otherwise.
 */
export const acquireScript = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('INCR', KEYS[2])}
end
return {0, redis.call('PTTL', KEYS[1])}
`;

/** KEYS[1] lock key; ARGV[1] owner id, ARGV[2] release channel. Returns 1 if released. */
export const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[1])
  return 1
end
return 0
`;

/** KEYS[1] lock key; ARGV[1] owner id, ARGV[2] TTL in ms. Returns 1 if extended. */
export const extendScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;
