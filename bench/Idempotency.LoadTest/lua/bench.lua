-- Request generator for the idempotency load test (wrk 4).
-- Arguments: method path body_file key_kind key_prefix key_count
--   key_kind none:   no Idempotency-Key (no scenario uses it today)
--            unique: a new key for every request (first executions; the baseline and pass-through send the same
--                    header, which they do not read)
--            cycle:  keys key_prefix-0 .. key_prefix-(key_count-1) in turn (replays of seeded keys)
--            query:  no key; path?item=0 .. path?item=(key_count-1) in turn (hits of seeded output cache entries)
--            hot:    all requests of a thread share one key for key_count requests in a row (concurrent duplicates)
-- done() prints one line "WRKJSON {...}" that the runner parses.

local method, path, body, kind, prefix, count
local headers = {}
local counter = 0

local next_thread = 0
function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  method, path = args[1], args[2]
  if args[3] ~= "-" then
    local file = assert(io.open(args[3], "rb"))
    body = file:read("*a")
    file:close()
    headers["Content-Type"] = "application/json"
  end
  kind, prefix, count = args[4], args[5], tonumber(args[6])
end

-- Every kind builds its request per call, none included: wrk shares the cores with the app, so a prebuilt request
-- (cheaper to generate) would hand the scenario using it CPU that the baseline's requests cost, and its ratio would
-- measure the load generator instead of the middleware.
function request()
  counter = counter + 1
  if kind == "none" then
    return wrk.format(method, path, headers, body)
  end
  if kind == "query" then
    return wrk.format(method, path .. "?item=" .. ((counter * 7 + thread_id) % count), headers, body)
  end
  local key
  if kind == "unique" then
    key = prefix .. "-" .. thread_id .. "-" .. counter
  elseif kind == "cycle" then
    key = prefix .. "-" .. ((counter * 7 + thread_id) % count)
  else
    key = prefix .. "-" .. thread_id .. "-" .. math.floor(counter / count)
  end
  headers["Idempotency-Key"] = key
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"latency_p50_us":%d,"latency_p90_us":%d,"latency_p99_us":%d,"latency_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
