-- wrk script of the benchmark's HTTP phase: posts prepared JSON bodies (WRK_BODIES/body-N.json, N < WRK_BODY_COUNT)
-- to POST /api/ingest round robin, counts the answers by status (503s with Retry-After apart), and prints them with
-- the latency percentiles in lines the benchmark reads. WRK_DELAY_MS > 0 paces each connection (a run below saturation).
local bodies = {}
-- A global: done() reads every thread's table through thread:get, which sees globals only.
counts = {}
local threads = {}
local index = 0
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local folder = os.getenv("WRK_BODIES")
  local n = tonumber(os.getenv("WRK_BODY_COUNT"))
  for i = 0, n - 1 do
    local file = assert(io.open(folder .. "/body-" .. i .. ".json", "rb"))
    bodies[#bodies + 1] = file:read("*a")
    file:close()
  end
  index = math.random(#bodies)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end

function response(status, headers, body)
  local key = tostring(status)
  if status == 503 and (headers["Retry-After"] or headers["retry-after"]) then
    key = "503-retry-after"
  end
  counts[key] = (counts[key] or 0) + 1
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts") or {}) do
      total[key] = (total[key] or 0) + n
    end
  end
  for key, n in pairs(total) do
    io.write(string.format("bench-status %s %d\n", key, n))
  end
  io.write(string.format("bench-latency-us %d %d %d\n", latency:percentile(50), latency:percentile(99), latency.max))
  io.write(string.format("bench-summary %d %d %d %d %d %d %d\n", summary.duration, summary.requests,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
end
