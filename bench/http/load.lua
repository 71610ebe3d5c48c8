-- wrk script of bench/http: a fixed request, or (BENCH_TOKENS_IN set) rotating token chains.
--
-- Environment:
--   BENCH_METHOD, BENCH_BODY       the request (headers come from wrk -H)
--   BENCH_TOKENS_IN                file with one token per line: each is the head of a chain
--   BENCH_TOKENS_OUT               where done() writes the heads left at the end
--   BENCH_TOKEN_FIELD              JSON field of the token in request and response
--   BENCH_THREADS                  wrk -t, to deal the tokens out to the threads
--
-- Chains: every thread keeps a pool of tokens (more than its connections); request() pops one,
-- response() pushes the successor from a 200 answer, so no token is ever sent twice. A token
-- whose answer never arrives (in flight at the end) ends its chain; the runner tops the pool up.

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
   wrk.body = body
end

local unique_header = os.getenv("BENCH_UNIQUE_HEADER")
if unique_header == "" then
   unique_header = nil
end

local tokens_in = os.getenv("BENCH_TOKENS_IN")
local tokens_out = os.getenv("BENCH_TOKENS_OUT")
local field = os.getenv("BENCH_TOKEN_FIELD") or "refresh_token"
local threads = {}
local counter = 0

function setup(thread)
   thread:set("thread_index", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   math.randomseed(os.time() + thread_index)
   pool = {}
   sent = 0  -- requests written, answered or not (the server works on all of them)
   exhausted = 0
   failures = {}  -- status -> count, for statuses >= 400
   if tokens_in then
      local count = tonumber(os.getenv("BENCH_THREADS")) or 1
      local index = 0
      for line in io.lines(tokens_in) do
         if line ~= "" then
            if index % count == thread_index then
               table.insert(pool, line)
            end
            index = index + 1
         end
      end
   end
end

local function count_failure(status)
   if status >= 400 then
      failures[status] = (failures[status] or 0) + 1
   end
end

if tokens_in then
   local pattern = '"' .. field .. '"%s*:%s*"([^"]+)"'

   request = function()
      sent = sent + 1
      local token = table.remove(pool)
      if token == nil then
         exhausted = exhausted + 1
         token = "pool-exhausted"  -- answered 401, counted as a status error
      end
      return wrk.format(nil, nil, nil, '{"' .. field .. '":"' .. token .. '"}')
   end

   response = function(status, headers, body)
      count_failure(status)
      if status == 200 then
         local token = string.match(body, pattern)
         if token then
            table.insert(pool, token)
         end
      end
   end
else
   local fixed = nil

   request = function()
      sent = sent + 1
      if unique_header then
         local key = string.format("%08x-%04x-4%03x-a%03x-%012x-%d", math.random(0, 0xffffffff),
            math.random(0, 0xffff), math.random(0, 0xfff), math.random(0, 0xfff),
            math.random(0, 0xffffffffffff), sent)
         -- wrk.format takes the headers it is given instead of wrk.headers (the -H ones:
         -- Authorization, X-Tenant-ID, Content-Type, Host), so they are copied in.
         local headers = {}
         for name, value in pairs(wrk.headers) do
            headers[name] = value
         end
         headers[unique_header] = key
         return wrk.format(nil, nil, headers)
      end
      if fixed == nil then
         fixed = wrk.format()
      end
      return fixed
   end

   response = function(status, headers, body)
      count_failure(status)
   end
end

function done(summary, latency, requests)
   local errors = summary.errors
   local exhausted_total = 0
   local sent_total = 0
   local statuses = {}
   for _, thread in ipairs(threads) do
      sent_total = sent_total + (thread:get("sent") or 0)
      for status, count in pairs(thread:get("failures") or {}) do
         statuses[status] = (statuses[status] or 0) + count
      end
   end
   local codes = {}
   for status, count in pairs(statuses) do
      table.insert(codes, string.format('"%d": %d', status, count))
   end
   if tokens_out then
      local out = assert(io.open(tokens_out, "w"))
      for _, thread in ipairs(threads) do
         local left = thread:get("pool") or {}
         for _, token in ipairs(left) do
            out:write(token, "\n")
         end
         exhausted_total = exhausted_total + (thread:get("exhausted") or 0)
      end
      out:close()
   end
   io.write(string.format(
      'BENCH-RESULT {"requests": %.0f, "duration_us": %.0f, "p50_us": %.0f, "p99_us": %.0f, '
         .. '"connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f, '
         .. '"exhausted": %.0f, "sent": %.0f, "codes": {%s}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      errors.connect, errors.read, errors.write, errors.status, errors.timeout, exhausted_total, sent_total,
      table.concat(codes, ", ")))
end
