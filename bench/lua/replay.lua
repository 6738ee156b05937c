-- replay.lua: wrk sends prepared raw HTTP requests read from a file.
--
-- wrk -s bench/lua/replay.lua URL -- FILE MODE THREADS
--   FILE     requests separated by NUL bytes, each a complete HTTP/1.1
--            request (the harness writes them, cookies and CSRF included)
--   MODE     "cycle": send them round and round for the whole duration;
--            "once": send each at most once (one-time tokens: session
--            rotation, refresh), then stop the thread
--   THREADS  wrk's -t, so thread i takes requests i, i+THREADS, ...
--
-- done() prints one line starting with QUIREBENCH with the totals, the
-- latency percentiles (microseconds) and the error counts, for the harness.

local counter = 0
local requests = {}
local idx = 0
local mode = "cycle"

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  mode = args[2] or "cycle"
  local n = tonumber(args[3] or "1")
  local all, pos = {}, 1
  while true do
    local s = string.find(data, "\0", pos, true)
    if not s then break end
    all[#all + 1] = string.sub(data, pos, s - 1)
    pos = s + 1
  end
  for i = tid, #all, n do
    requests[#requests + 1] = all[i]
  end
  if #requests == 0 then
    if mode == "once" then
      error("replay.lua: fewer one-time requests than threads")
    end
    -- Fewer requests than threads: every thread cycles through all.
    requests = all
  end
end

function request()
  idx = idx + 1
  if idx > #requests then
    if mode == "once" then
      -- Out of one-time requests: stop. wrk still sends what we return, so
      -- repeat the last one (a token just used is inside the grace window).
      wrk.thread:stop()
      return requests[#requests]
    end
    idx = 1
  end
  return requests[idx]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'QUIREBENCH {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
