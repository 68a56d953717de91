-- The load test's traffic (bench/load.sh). Mode "mix": the reader mix plus sign-ins,
-- weighted; mode "webhooks": signed Stripe deliveries, each posted once. Every answer is
-- counted by status class; done() prints one line that load.sh parses.
--   wrk ... -s bench/load.lua URL -- mix SLUG PREMIUM WALLED_COOKIE SESSION_COOKIE EMAIL PASSWORD
--   wrk ... -s bench/load.lua URL -- webhooks EVENTS_TSV
local requests = {}
local index = 0
local threads = {}
ok, client_errors, server_errors = 0, 0, 0

local function add(weight, req)
  for _ = 1, weight do requests[#requests + 1] = req end
end

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  if args[1] == "webhooks" then
    for line in io.lines(args[2]) do
      local tab = string.find(line, "\t", 1, true)
      add(1, wrk.format("POST", "/webhooks/stripe/", {
        ["Content-Type"] = "application/json",
        ["Stripe-Signature"] = string.sub(line, 1, tab - 1),
      }, string.sub(line, tab + 1)))
    end
    return
  end
  local slug, premium, walled, session, email, password =
    args[2], args[3], args[4], args[5], args[6], args[7]
  local json = { ["Content-Type"] = "application/json" }
  -- 1 sign-in in 30 requests: a password hash (argon2) costs what ~20 page views do
  add(6, wrk.format("GET", "/a/" .. slug .. "/"))                            -- new reader
  add(5, wrk.format("GET", "/a/" .. slug .. "/", { Cookie = walled }))       -- meter spent
  add(5, wrk.format("GET", "/a/" .. premium .. "/", { Cookie = session }))   -- in a trial
  add(2, wrk.format("GET", "/a/" .. premium .. "/"))                         -- premium wall
  add(5, wrk.format("GET", "/api/v1/articles/" .. slug .. "/"))
  add(2, wrk.format("GET", "/api/v1/articles/" .. premium .. "/", { Cookie = session }))
  add(2, wrk.format("GET", "/api/v1/articles/?page=2"))
  add(2, wrk.format("GET", "/"))
  add(1, wrk.format("POST", "/api/v1/auth/login/", json,
    '{"email": "' .. email .. '", "password": "' .. password .. '"}'))
end

function request()
  -- each thread starts elsewhere in the list (webhooks: no event posted twice in a run
  -- shorter than the list)
  index = index + 1
  return requests[((index + id * 7919) % #requests) + 1]
end

function response(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  elseif status >= 400 then
    client_errors = client_errors + 1
  else
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local good, bad, broken = 0, 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("ok")
    bad = bad + thread:get("client_errors")
    broken = broken + thread:get("server_errors")
  end
  io.write(string.format(
    "LOAD requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f ok=%d 4xx=%d 5xx=%d dropped=%d timeouts=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, good, bad, broken,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout))
end
