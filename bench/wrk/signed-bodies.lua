-- Streams pre-signed Meta webhook bodies (bench/lib/bodies.mjs) to the server, one line per request:
-- "sha256=<64 hex> <body>". wrk's LuaJIT has no crypto, so Node signed them beforehand; each line is a
-- different body with its own wamid.
--
-- Arguments (after `--`): <file> <start byte> <mode> <path> [<limit> <marker file>]
--   mode "once": read from <start byte> on; at the end of the file reuse the last body and count it in
--                `exhausted` (the runner then rejects the run: the gateway must never see a duplicate).
--   mode "wrap": start again at <start byte> at the end of the file (baselines store nothing).
--   <limit>:     stop this thread after that many requests and create <marker file> (end-to-end runs).
-- Run it with ONE thread (-t1): two threads would read the same lines.
-- done() prints one line `BENCH {json}` with the counts and latency percentiles (microseconds).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  file = assert(io.open(args[1], "rb"))
  start = tonumber(args[2])
  mode = args[3]
  path = args[4]
  limit = tonumber(args[5] or "0")
  marker = args[6]
  file:seek("set", start)
  sent = 0
  pos = start
  exhausted = 0
  wrapped = 0
  host = wrk.headers["Host"] or (wrk.host .. ":" .. wrk.port)
  head = "POST " .. path .. " HTTP/1.1\r\nHost: " .. host ..
    "\r\nContent-Type: application/json\r\nUser-Agent: facebookexternalua\r\nX-Hub-Signature-256: "
end

local last = nil

function request()
  local line = file:read("*l")
  if line == nil then
    if mode == "wrap" then
      wrapped = wrapped + 1
      file:seek("set", start)
      line = file:read("*l")
    else
      exhausted = exhausted + 1
      line = last
    end
  else
    pos = file:seek()
  end
  last = line
  sent = sent + 1
  if limit > 0 and sent >= limit then
    if marker then
      local m = io.open(marker, "w")
      if m then m:close() end
    end
    wrk.thread:stop()
  end
  local body = line:sub(73)
  return head .. line:sub(1, 71) .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  local t = threads[1]
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%.0f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f},"sent":%d,"pos":%.0f,"exhausted":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean,
    t:get("sent"), t:get("pos"), t:get("exhausted"), t:get("wrapped")))
end
