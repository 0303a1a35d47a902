-- wrk script: posts the pre-signed deliveries of EVENTS_FILE, each exactly once
-- across all connections (a thread takes every THREADS-th line), then stops.
local events = {}
local index = 0

function init(args)
  local file = os.getenv("EVENTS_FILE")
  for line in io.lines(file) do
    local tab = line:find("\t", 1, true)
    events[#events + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
  end
  -- wrk calls request() once before it sends anything; that call takes a
  -- copy of the first event, so every event is sent (a second copy that is
  -- sent after all is answered `duplicate` and not counted as applied).
  table.insert(events, 1, events[1])
end

function request()
  index = index + 1
  local e = events[index]
  if e == nil then
    wrk.thread:stop()
    -- wrk itself runs until its -d duration or SIGINT: tell the script
    -- that this thread has sent everything, so it can end the run.
    local done_file = os.getenv("DONE_FILE")
    if done_file then
      local f = io.open(done_file, "w")
      if f then f:close() end
    end
    e = events[#events]
  end
  return wrk.format("POST", "/api/webhooks/e2b",
    { ["Content-Type"] = "application/json", ["e2b-signature"] = e[1] }, e[2])
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f %d\n", summary.requests,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status))
end
