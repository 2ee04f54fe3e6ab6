-- wrk script for the API benchmarks (bench/api.py writes the parameters).
--
-- Usage: wrk -t1 -c16 -d5s -s bench/wrk/followup.lua URL -- PARAMS.lua [OFFSET]
--
-- PARAMS.lua returns a table:
--   method, headers        -- every request (Authorization, Content-Type)
--   path, body             -- a fixed request, or
--   ids, path_prefix, path_suffix, body_prefix, body_suffix
--                          -- request i goes to ids[OFFSET + i] = {interview_id, contact_id}:
--                          -- path_prefix .. interview_id .. path_suffix, and the body
--                          -- body_prefix .. contact_id .. body_suffix
--   recorded_from, body_middle
--                          -- when set, the body is body_prefix .. contact_id .. body_middle
--                          -- .. occurred_at .. body_suffix, where occurred_at is
--                          -- recorded_from (Unix time) less a minute per pass over ids
--   idempotency_prefix     -- when set, a unique Idempotency-Key per request
-- done() prints one line "WRK_JSON {...}" with the counts and latency percentiles.

local params
local counter = 0
local stride = 1
local fixed
local threads = 0

function setup(thread)
   thread:set("thread_index", threads)
   threads = threads + 1
end

local function copy(headers)
   local out = {}
   for name, value in pairs(headers) do
      out[name] = value
   end
   return out
end

function init(args)
   params = dofile(args[1])
   stride = tonumber(args[3] or "1")
   counter = tonumber(args[2] or "0") + (thread_index or 0)
   if not params.ids and not params.idempotency_prefix then
      fixed = wrk.format(params.method, params.path, copy(params.headers), params.body)
   end
end

function request()
   if fixed then
      return fixed
   end
   local path, body = params.path, params.body
   if params.ids then
      local id = params.ids[(counter % #params.ids) + 1]
      path = params.path_prefix .. id[1] .. params.path_suffix
      if params.recorded_from then
         local pass = math.floor(counter / #params.ids)
         local occurred = os.date("!%Y-%m-%dT%H:%M:%SZ", params.recorded_from - 60 * pass)
         body = params.body_prefix .. id[2] .. params.body_middle .. occurred .. params.body_suffix
      elseif params.body_prefix then
         body = params.body_prefix .. id[2] .. params.body_suffix
      end
   end
   local headers = copy(params.headers)
   if params.idempotency_prefix then
      headers["Idempotency-Key"] = params.idempotency_prefix .. "-" .. counter
   end
   counter = counter + stride
   return wrk.format(params.method, path, headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, ' ..
      '"socket_errors": %d, "timeouts": %d, "p50_us": %.1f, "p90_us": %.1f, ' ..
      '"p99_us": %.1f, "mean_us": %.1f, "max_us": %.1f}\n',
      summary.requests, summary.duration, e.status, e.connect + e.read + e.write,
      e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max))
end
