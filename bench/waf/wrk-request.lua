-- wrk script: replays one request file from bench/waf/requests/ over and over.
--
--   WAF_REQUEST_FILE=bench/waf/requests/browser-get.http wrk -t1 -c1 -d5s -s bench/waf/wrk-request.lua URL
--
-- A request file is the request line and headers, one per line (LF or CRLF), a blank line,
-- then the body (the file's final newline is not part of the body). Content-Length is
-- computed here, so files never carry one. The request is built once and sent verbatim
-- (header order kept), which `wrk.format` would not do.
--
-- At the end one line `WRK_RESULT {json}` is printed for scripts/waf-peer.sh to parse:
-- completed requests, duration, bytes, error counts (`errors_status` = responses with a
-- status above 399) and latency percentiles in microseconds.

local path = os.getenv("WAF_REQUEST_FILE")
if path == nil or path == "" then
  error("set WAF_REQUEST_FILE to a bench/waf/requests/*.http file")
end
local f = assert(io.open(path, "rb"))
local text = f:read("*a")
f:close()

text = text:gsub("\r\n", "\n")
local head, body = text:match("^(.-)\n\n(.*)$")
if head == nil then
  head, body = text:gsub("\n+$", ""), ""
end
body = body:gsub("\n$", "")

local lines = {}
for line in head:gmatch("[^\n]+") do
  local name = line:match("^([^:]+):")
  local lname = name and name:lower() or ""
  if lname ~= "content-length" then
    lines[#lines + 1] = line
  end
end
local method = lines[1]:match("^(%S+)")
if #body > 0 or method == "POST" or method == "PUT" or method == "PATCH" then
  lines[#lines + 1] = "Content-Length: " .. #body
end
local raw = table.concat(lines, "\r\n") .. "\r\n\r\n" .. body

request = function()
  return raw
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,' ..
    '"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,' ..
    '"latency_mean_us":%.1f,"latency_p50_us":%d,"latency_p90_us":%d,"latency_p99_us":%d,' ..
    '"request_bytes":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), #raw))
end
