-- wrk script for the Packages API benchmark (bench/run.py sets the environment).
--
-- One script for every scenario, chosen by BENCH_SCENARIO:
--   list_default  GET  /api/v1/packages
--   list_query    GET  /api/v1/packages?<BENCH_LIST_QUERY>     (filter, sort and an include)
--   get           GET  /api/v1/packages/{id}                  ids from BENCH_IDS, in turn
--   create        POST /api/v1/packages                       a unique name per request
--   update        PUT  /api/v1/packages/{id}                  ids from BENCH_IDS, new name
--   add_version   POST /api/v1/packages/{id}/flow-versions/{v} ids from BENCH_FRESH (empty
--                 packages made for the run) x versions from BENCH_VERSIONS (one per flow)
--   compare       GET  /api/v1/packages/{id}/compare/{ve}      ids from BENCH_MEMBERS x BENCH_VES
--   mix           the above in the weighted order of BENCH_MIX ("name:weight,...")
--
-- Every request carries `Authorization: <BENCH_KEY>`; bodies are JSON. At the end the script
-- prints one line `BENCH_JSON {...}` with counts and latency percentiles (microseconds).
--
-- Run by hand, e.g.:
--   BENCH_SCENARIO=get BENCH_KEY=k BENCH_IDS=1,2,3 wrk -t1 -c16 -d5s -s bench/lua/packages.lua \
--     http://127.0.0.1:8000

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

local function list(name)
  local out = {}
  for item in string.gmatch(os.getenv(name) or "", "[^,]+") do
    out[#out + 1] = item
  end
  return out
end

-- The items of `all` that belong to thread `tid` of `threads` (so that threads never share
-- the packages they add flow versions to).
local function share(all, tid, threads)
  local mine = {}
  for i = 1, #all do
    if (i - 1) % threads == tid - 1 then
      mine[#mine + 1] = all[i]
    end
  end
  if #mine == 0 then
    return all
  end
  return mine
end

local key, run_id, threads, me
local json_headers, plain_headers
local ids, fresh, versions, members, ves
local list_query
local n = {}  -- per-operation request counters of this thread

local function next_of(op)
  n[op] = (n[op] or 0) + 1
  return n[op]
end

local ops = {}

ops.list_default = function()
  return wrk.format("GET", "/api/v1/packages", plain_headers)
end

ops.list_query = function()
  return wrk.format("GET", "/api/v1/packages?" .. list_query, plain_headers)
end

ops.get = function()
  local i = next_of("get")
  return wrk.format("GET", "/api/v1/packages/" .. ids[(i - 1) % #ids + 1], plain_headers)
end

ops.create = function()
  local i = next_of("create")
  local body = string.format(
    '{"name": "Bench %s t%d #%d", "notes": "Created by the benchmark."}', run_id, me, i)
  return wrk.format("POST", "/api/v1/packages", json_headers, body)
end

ops.update = function()
  local i = next_of("update")
  local id = ids[(i - 1) % #ids + 1]
  local body = string.format(
    '{"name": "Bench %s t%d rev %d", "notes": "Updated by the benchmark."}', run_id, me, i)
  return wrk.format("PUT", "/api/v1/packages/" .. id, json_headers, body)
end

-- Request i adds flow (i / #fresh) to package (i mod #fresh): every package gets one version
-- of each flow; once all are in, a repeat only sets the priority again (also a 200).
ops.add_version = function()
  local i = next_of("add_version") - 1
  local package = fresh[i % #fresh + 1]
  local version = versions[math.floor(i / #fresh) % #versions + 1]
  local body = string.format('{"priority": %d}', 10 + (i % 9) * 10)
  return wrk.format(
    "POST", "/api/v1/packages/" .. package .. "/flow-versions/" .. version, json_headers, body)
end

ops.compare = function()
  local i = next_of("compare") - 1
  local package = members[i % #members + 1]
  local ve = ves[math.floor(i / #members) % #ves + 1]
  return wrk.format(
    "GET", "/api/v1/packages/" .. package .. "/compare/" .. ve, plain_headers)
end

local sequence = {}
local position = 0

function init(args)
  me = rawget(_G, "tid") or 1  -- set by setup() in this thread's state
  threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  key = os.getenv("BENCH_KEY") or "patchworks-mock-key"
  run_id = os.getenv("BENCH_RUN") or "run"
  list_query = os.getenv("BENCH_LIST_QUERY") or ""
  plain_headers = { ["Authorization"] = key, ["Accept"] = "application/json" }
  json_headers = {
    ["Authorization"] = key,
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/json",
  }
  ids = list("BENCH_IDS")
  fresh = share(list("BENCH_FRESH"), me, threads)
  versions = list("BENCH_VERSIONS")
  members = list("BENCH_MEMBERS")
  ves = list("BENCH_VES")
  local scenario = os.getenv("BENCH_SCENARIO") or "list_default"
  if scenario == "mix" then
    -- "a:3,b:1" -> a b a a (spread out, the same order in every thread)
    local slots = {}
    for spec in string.gmatch(os.getenv("BENCH_MIX") or "", "[^,]+") do
      local name, weight = string.match(spec, "([%w_]+):(%d+)")
      for k = 1, tonumber(weight) do
        slots[#slots + 1] = { name = name, at = (k - 0.5) / tonumber(weight) }
      end
    end
    table.sort(slots, function(a, b)
      if a.at == b.at then
        return a.name < b.name
      end
      return a.at < b.at
    end)
    for _, slot in ipairs(slots) do
      sequence[#sequence + 1] = ops[slot.name]
    end
  else
    sequence[1] = ops[scenario]
  end
  if #sequence == 0 or sequence[1] == nil then
    error("unknown BENCH_SCENARIO or BENCH_MIX: " .. scenario)
  end
end

function request()
  position = position % #sequence + 1
  return sequence[position]()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non_2xx": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, '
      .. '"mean_us": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
