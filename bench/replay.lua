-- wrk script: replays pre-signed raw HTTP requests from a file, each request used once.
-- The file (path in env CROWDLOOP_BENCH_REQUESTS) holds requests separated by a NUL byte;
-- thread t of n takes requests t, t+n, t+2n, ... When a thread runs out it replays its last request
-- and counts it as "replayed" so the driver can tell.
local requests_file = os.getenv("CROWDLOOP_BENCH_REQUESTS")
local thread_count = tonumber(os.getenv("CROWDLOOP_BENCH_THREADS") or "1")
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(requests_file, "rb"))
  local data = f:read("*all")
  f:close()
  mine = {}
  local index = 0
  for req in string.gmatch(data, "([^%z]+)%z") do
    if index % thread_count == id then
      table.insert(mine, req)
    end
    index = index + 1
  end
  next_req = 1
  replayed = 0
  bad = 0
end

function request()
  local req = mine[next_req]
  if next_req < #mine then
    next_req = next_req + 1
  else
    replayed = replayed + 1
  end
  return req
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local replays, bads = 0, 0
  for _, thread in ipairs(threads) do
    replays = replays + thread:get("replayed")
    bads = bads + thread:get("bad")
  end
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non_2xx": %d, ' ..
    '"socket_errors": %d, "replayed": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bads, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    replays))
end
