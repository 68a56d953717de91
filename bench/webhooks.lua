-- Posts pre-signed Stripe webhook deliveries, each once (bench/webhook_events.py).
local requests = {}
local index = 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = string.find(line, "\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", "/webhooks/stripe/", {
      ["Content-Type"] = "application/json",
      ["Stripe-Signature"] = string.sub(line, 1, tab - 1),
    }, string.sub(line, tab + 1))
  end
  -- one wrk thread walks the lines in order, so no event is posted twice
  index = tonumber(args[2])
end

function request()
  index = index + 1
  return requests[(index % #requests) + 1]
end
