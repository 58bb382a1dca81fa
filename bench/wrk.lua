-- The one wrk script of bench/ceiling.py and bench/growth.py, driven by environment
-- variables (the same script for Parley and for the bare app in each row):
--
--   BENCH_METHOD   GET, POST or PUT
--   BENCH_PATHS    paths with their queries, one a line, taken in turn
--   BENCH_HEADERS  "Name: value" lines sent with every request (Accept-Encoding among them)
--   BENCH_BODY     a fixed body (counts)
--   BENCH_MODE     "plain" (default), "post" (a unique comment per request, with the form
--                  token BENCH_FORM_TOKEN) or "vote" (X-Parley-Visitor from BENCH_KEYS,
--                  one a line, values 1..5)
--   BENCH_CHECK    "1": tally the statuses (and in post/vote mode keep every answer in
--                  BENCH_OUT.<thread>, one a line) -- wrk then reads each body into Lua, so
--                  rows with large bodies leave it off and are checked before the run
--   BENCH_TAG      a word that makes this run's comment texts unique

local function lines(value)
  local out = {}
  for line in string.gmatch(value or "", "[^\n]+") do
    out[#out + 1] = line
  end
  return out
end

local function json_string(value)
  return '"' .. value:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local method, paths, headers, fixed_body, mode, keys, token, tag
local n = 0
statuses = {} -- a global: done() reads each thread's with thread:get
local log

function init(args)
  method = os.getenv("BENCH_METHOD") or "GET"
  paths = lines(os.getenv("BENCH_PATHS"))
  headers = {}
  for _, line in ipairs(lines(os.getenv("BENCH_HEADERS"))) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  fixed_body = os.getenv("BENCH_BODY")
  if fixed_body == "" then fixed_body = nil end
  mode = os.getenv("BENCH_MODE") or "plain"
  keys = lines(os.getenv("BENCH_KEYS"))
  token = os.getenv("BENCH_FORM_TOKEN") or ""
  tag = os.getenv("BENCH_TAG") or "x"
  if os.getenv("BENCH_CHECK") == "1" and (mode == "post" or mode == "vote") then
    log = io.open(os.getenv("BENCH_OUT") .. "." .. id, "w")
  end
end

function request()
  n = n + 1
  local path = paths[(n - 1) % #paths + 1]
  if mode == "post" then
    local text = "Bench comment " .. tag .. "-" .. id .. "-" .. n .. ", a short remark."
    local body = '{"name": "Load Tester", "email": "load.tester@example.org", "text": '
      .. json_string(text) .. ', "form_token": ' .. json_string(token) .. '}'
    return wrk.format(method, path, headers, body)
  elseif mode == "vote" then
    local key = keys[(n - 1) % #keys + 1]
    path = paths[math.floor((n - 1) / #keys) % #paths + 1]
    headers["X-Parley-Visitor"] = key
    local body = '{"value": ' .. ((n - 1) % 5 + 1) .. '}'
    return wrk.format(method, path, headers, body)
  end
  return wrk.format(method, path, headers, fixed_body)
end

if os.getenv("BENCH_CHECK") == "1" then
  function response(status, response_headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if log then
      log:write(status, "\t", (body:gsub("\n", " ")), "\n")
      log:flush()
    end
  end
end

function done(summary, latency, requests)
  local tally = {}
  for _, thread in ipairs(threads) do
    local seen = thread:get("statuses")
    if seen then
      for status, count in pairs(seen) do
        tally[status] = (tally[status] or 0) + count
      end
    end
  end
  local parts = {}
  for status, count in pairs(tally) do
    parts[#parts + 1] = status .. "=" .. count
  end
  io.write("BENCH statuses ", table.concat(parts, ","), "\n")
  io.write(string.format(
    "BENCH result requests=%d seconds=%.6f errors_connect=%d errors_read=%d "
      .. "errors_write=%d errors_status=%d errors_timeout=%d bytes=%d "
      .. "p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
