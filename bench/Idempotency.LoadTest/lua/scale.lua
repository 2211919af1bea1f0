-- Request generator for the scale run (bench/run.sh scale; wrk 4). Built like bench.lua's requests, per call.
-- Arguments: method path body_file key_kind key_source key_count
--   key_kind unique: a new key for every request, key_source-<thread>-<n> with n = 1, 2, ... per thread (the fill and the
--                    first executions); the runner knows which keys are stored from the requests wrk completed
--            cycle:  key_source names a file of keys, one a line (stored keys spread over the fill), sent in turn:
--                    every request is a replay; key_count is not used
-- done() prints one line "WRKJSON {...}" that the runner parses (the same as bench.lua's).

local method, path, body, kind, source
local headers = {}
local keys = {}
local counter = 0

local next_thread = 0
function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  method, path = args[1], args[2]
  local file = assert(io.open(args[3], "rb"))
  body = file:read("*a")
  file:close()
  headers["Content-Type"] = "application/json"
  kind, source = args[4], args[5]
  if kind == "cycle" then
    for line in io.lines(source) do
      if line ~= "" then
        keys[#keys + 1] = line
      end
    end
    assert(#keys > 0, "no keys in " .. source)
  end
end

function request()
  counter = counter + 1
  local key
  if kind == "cycle" then
    key = keys[((counter * 7 + thread_id) % #keys) + 1]
  else
    key = source .. "-" .. thread_id .. "-" .. counter
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
