namespace Idempotency.Redis.Internal;

/// <summary>
/// The Lua scripts behind the stream operations (sequence mode, see docs/contract.md). As with <see cref="RedisScripts"/>, every
/// operation is exactly one script call on one key, the stream's hash, so it is atomic, costs one round trip and stays
/// within one Redis Cluster slot.
/// </summary>
/// <remarks>
/// <para>
/// Hash fields of a stream (absent ones read as the default):
/// <c>e</c> epoch (default 0), <c>l</c> last applied number (default 0), <c>w</c> the window size the last complete
/// trimmed to; the in-flight slot <c>se</c> epoch, <c>sn</c> number, <c>sf</c> fingerprint, <c>st</c> fencing token,
/// <c>sd</c> lease deadline in Unix milliseconds of the server's clock; <c>rd</c> the end of the retention the last
/// complete set, in the same milliseconds; and per number <c>n</c> still in the window
/// <c>f:n</c> its fingerprint and <c>r:n</c> its response (<see cref="Idempotency.Storage.StoredResponseSerializer"/>). The window holds exactly
/// the numbers in <c>(l - w, l]</c>, so "is <c>n</c> still replayable" is a field lookup, not arithmetic.
/// </para>
/// <para>
/// Hash fields cannot expire one by one before Redis 7.4, so the slot's lease is a deadline held in the hash and read
/// against <c>redis.call('TIME')</c>. A script may call TIME and write afterwards because scripts are replicated by
/// their effects (the written values), not re-run on replicas: the default since Redis 5.0 and the only mode since 7.0.
/// The key itself carries a PEXPIRE: while a slot is taken, until its lease or the retention ends, whichever is later
/// (so a stream that never completes does not outlive its lease, and one that did is never shortened below its
/// retention); the retention after a complete; what is left of the retention (<c>rd</c>) once a release frees the slot.
/// </para>
/// <para>
/// Numbers (epochs, sequence numbers) go up to 2^63-1 but a Lua number is a double, exact only to 2^53. Every number
/// travels as its canonical decimal string; the helpers in <see cref="Numbers"/> split it into a high part (the digits
/// above the lowest 15, at most 9224) and a low part (below 10^15), both exact as doubles, and compare or add on the
/// pair. Fencing tokens are only ever compared for equality, as strings.
/// </para>
/// </remarks>
internal static class RedisStreamScripts
{
    public const long Acquired = 1;
    public const long InFlight = 2;
    public const long FingerprintMismatch = 3;
    public const long AlreadyApplied = 4;
    public const long Gap = 5;
    public const long EpochFenced = 6;

    /// <summary>
    /// Shared Lua helpers, prepended to each script. <c>cmp(a, b)</c> orders two canonical decimal strings of
    /// non-negative integers below 10^19 (-1, 0, 1); <c>add(s, k)</c> adds a small integer (|k| &lt; 10^15, window sizes
    /// and 1) to one and returns the canonical decimal string, or nil when the result would be negative;
    /// <c>now()</c> is the server's clock in milliseconds.
    /// </summary>
    /// <remarks>
    /// Ordering is numeric on the parts rather than string comparison, because Lua 5.1 compares strings with strcoll,
    /// which depends on the server's locale. <c>string.format('%.0f')</c> prints an exact double without the exponent
    /// <c>tostring</c> would use from 10^15 on.
    /// </remarks>
    public const string Numbers = """
        local function split(s)
          local digits = #s
          if digits <= 15 then
            return 0, tonumber(s)
          end
          return tonumber(string.sub(s, 1, digits - 15)), tonumber(string.sub(s, digits - 14))
        end
        local function cmp(a, b)
          local ah, al = split(a)
          local bh, bl = split(b)
          if ah ~= bh then
            if ah < bh then return -1 end
            return 1
          end
          if al ~= bl then
            if al < bl then return -1 end
            return 1
          end
          return 0
        end
        local function add(s, k)
          local high, low = split(s)
          low = low + k
          if low >= 1e15 then
            high = high + 1
            low = low - 1e15
          elseif low < 0 then
            if high == 0 then return nil end
            high = high - 1
            low = low + 1e15
          end
          if high > 0 then
            return string.format('%.0f%015.0f', high, low)
          end
          return string.format('%.0f', low)
        end
        local function now()
          local time = redis.call('TIME')
          return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        end

        """;

    /// <summary>
    /// ARGV: epoch, number, fingerprint, fencing token, lease in ms. Follows the decision order of
    /// <c>IIdempotencySequenceStore.TryBeginSequenceAsync</c> step by step. Returns <see cref="Acquired"/>, <see cref="InFlight"/>,
    /// <see cref="FingerprintMismatch"/> (integers); <c>{<see cref="AlreadyApplied"/>, last}</c>, <c>{<see cref="Gap"/>, last}</c>,
    /// <c>{<see cref="EpochFenced"/>, epoch}</c> (the number as a decimal string, never a Lua number); or the stored
    /// snapshot (a bulk string), so a replay is one round trip. Only an acquire writes.
    /// </summary>
    /// <remarks>
    /// One HMGET reads everything any branch needs, the window entry of the requested number included: a field that
    /// does not exist costs nothing, and the snapshot is only copied when the number was applied in an older epoch
    /// than the request's, which is rare. TIME is read only when a slot could decide the answer.
    /// </remarks>
    public const string Begin = Numbers + """
        local epoch, number, fingerprint = ARGV[1], ARGV[2], ARGV[3]
        local stream = redis.call('HMGET', KEYS[1], 'e', 'l', 'se', 'sn', 'sf', 'sd', 'f:' .. number, 'r:' .. number)
        local current = stream[1] or '0'
        local order = cmp(epoch, current)
        if order < 0 then
          return {6, current}
        end
        local last = '0'
        if order == 0 then
          last = stream[2] or '0'
        end
        if cmp(number, last) <= 0 then
          if not stream[7] then
            return {4, last}
          end
          if stream[7] ~= fingerprint then
            return 3
          end
          return stream[8]
        end
        if cmp(number, add(last, 1)) > 0 then
          return {5, last}
        end
        local time = now()
        if stream[6] and tonumber(stream[6]) > time then
          if stream[3] == epoch and stream[4] == number and stream[5] ~= fingerprint then
            return 3
          end
          return 2
        end
        local lease = tonumber(ARGV[5])
        local ttl = redis.call('PTTL', KEYS[1])
        redis.call('HSET', KEYS[1], 'se', epoch, 'sn', number, 'sf', fingerprint, 'st', ARGV[4], 'sd', string.format('%.0f', time + lease))
        -- -2: the stream is new and lives only as long as its slot. -1 (no expiry) cannot come from these scripts;
        -- someone made the key persistent on purpose, and taking a slot must not shorten a stream's life.
        if ttl == -2 or (ttl >= 0 and ttl < lease) then
          redis.call('PEXPIRE', KEYS[1], ARGV[5])
        end
        return 1
        """;

    /// <summary>
    /// ARGV: fencing token, lease in ms. Returns 1 when the live slot's lease now ends lease ms from now, 0 when the caller
    /// does not own a live slot. The key then expires when the new lease or the retention ends, whichever is later.
    /// </summary>
    public const string Renew = Numbers + """
        local slot = redis.call('HMGET', KEYS[1], 'st', 'sd', 'rd', 'l')
        if slot[1] ~= ARGV[1] then
          return 0
        end
        local time = now()
        if tonumber(slot[2]) <= time then
          return 0
        end
        local lease = tonumber(ARGV[2])
        redis.call('HSET', KEYS[1], 'sd', string.format('%.0f', time + lease))
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl >= 0 then
          -- The stream lives while its slot does or its retention runs, whichever ends later, so a renew for less
          -- than before may shorten it. A stream applied before 'rd' was kept has no known retention: never shorten it.
          local keep = lease
          if slot[3] then
            keep = math.max(lease, tonumber(slot[3]) - time)
          elseif slot[4] then
            keep = math.max(lease, ttl)
          end
          redis.call('PEXPIRE', KEYS[1], string.format('%.0f', keep))
        end
        return 1
        """;

    /// <summary>
    /// ARGV: fencing token, snapshot, window size, retention in ms. Returns 1 when the slot's number was applied, 0
    /// (nothing written) when the caller does not own a live slot.
    /// </summary>
    /// <remarks>
    /// The window held <c>(last - w, last]</c> with <c>last = n - 1</c>; after this call it holds <c>(n - window, n]</c>.
    /// When <c>w</c> equals the window (the steady state) exactly one number leaves, <c>n - window</c>: its two fields
    /// go in the same HDEL that frees the slot, no scan. Only when the window size changed since the last complete (or
    /// a newer epoch clears the window) are the fields listed with HKEYS, which is bounded by the old window. HDEL takes
    /// its fields in batches because <c>unpack</c> of a very long list would overflow the Lua stack.
    /// </remarks>
    public const string Complete = Numbers + """
        local stream = redis.call('HMGET', KEYS[1], 'st', 'sd', 'se', 'sn', 'sf', 'e', 'w')
        if stream[1] ~= ARGV[1] then
          return 0
        end
        local time = now()
        if tonumber(stream[2]) <= time then
          return 0
        end
        local retained = string.format('%.0f', time + tonumber(ARGV[4]))
        local epoch, number, fingerprint, window = stream[3], stream[4], stream[5], ARGV[3]
        local cut = add(number, -tonumber(window))
        if cut == '0' then
          cut = nil
        end
        local function trim(everything)
          local doomed = {}
          for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
            local kind = string.sub(field, 1, 2)
            if (kind == 'f:' or kind == 'r:') and (everything or cmp(string.sub(field, 3), cut) <= 0) then
              doomed[#doomed + 1] = field
            end
          end
          for first = 1, #doomed, 1000 do
            redis.call('HDEL', KEYS[1], unpack(doomed, first, math.min(first + 999, #doomed)))
          end
        end
        local freed = {'se', 'sn', 'sf', 'st', 'sd'}
        if cmp(epoch, stream[6] or '0') > 0 then
          trim(true)
        elseif cut then
          if stream[7] == window then
            freed[6] = 'f:' .. cut
            freed[7] = 'r:' .. cut
          else
            trim(false)
          end
        end
        redis.call('HDEL', KEYS[1], unpack(freed))
        if window == '0' then
          redis.call('HSET', KEYS[1], 'e', epoch, 'l', number, 'w', window, 'rd', retained)
        else
          redis.call('HSET', KEYS[1], 'e', epoch, 'l', number, 'w', window, 'rd', retained, 'f:' .. number, fingerprint, 'r:' .. number, ARGV[2])
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return 1
        """;

    /// <summary>
    /// ARGV: fencing token. Returns 1 when the live slot was freed, 0 (nothing changed) when the caller does not own a
    /// live slot. A stream that had only the slot is left empty, and Redis deletes an empty hash; a stream with applied
    /// numbers lives on only for what is left of its retention (<c>rd</c>), however long the freed lease would have run.
    /// </summary>
    public const string Release = Numbers + """
        local slot = redis.call('HMGET', KEYS[1], 'st', 'sd', 'rd')
        if slot[1] ~= ARGV[1] then
          return 0
        end
        local time = now()
        if tonumber(slot[2]) <= time then
          return 0
        end
        redis.call('HDEL', KEYS[1], 'se', 'sn', 'sf', 'st', 'sd')
        if slot[3] and redis.call('PTTL', KEYS[1]) >= 0 then
          local left = tonumber(slot[3]) - time
          if left > 0 then
            redis.call('PEXPIRE', KEYS[1], string.format('%.0f', left))
          else
            redis.call('DEL', KEYS[1])
          end
        end
        return 1
        """;
}
