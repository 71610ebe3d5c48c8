-- wrk script of bench/webhook_ingest.py: every request is a distinct, correctly signed sandbox
-- webhook read from BENCH_DELIVERIES (one a line: webhook-id, webhook-timestamp,
-- webhook-signature and the JSON body, tab-separated), dealt out to the threads.
--
-- Environment:
--   BENCH_DELIVERIES   the deliveries file (written by webhook_ingest.py just before the run)
--   BENCH_THREADS      wrk -t, to deal the deliveries out to the threads

local deliveries_file = os.getenv("BENCH_DELIVERIES")
local threads = {}
local counter = 0

function setup(thread)
   thread:set("thread_index", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   pool = {}
   sent = 0
   exhausted = 0
   failures = {}
   local count = tonumber(os.getenv("BENCH_THREADS")) or 1
   local index = 0
   for line in io.lines(deliveries_file) do
      if line ~= "" then
         if index % count == thread_index then
            table.insert(pool, line)
         end
         index = index + 1
      end
   end
   position = 0
end

request = function()
   sent = sent + 1
   position = position + 1
   local line = pool[position]
   if line == nil then
      -- Out of deliveries: send the first again (a duplicate, still acknowledged), counted.
      exhausted = exhausted + 1
      line = pool[1]
   end
   local id, timestamp, signature, body = string.match(line, "^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
   return wrk.format("POST", nil, {
      ["content-type"] = "application/json",
      ["webhook-id"] = id,
      ["webhook-timestamp"] = timestamp,
      ["webhook-signature"] = signature,
   }, body)
end

response = function(status, headers, body)
   if status >= 300 then
      failures[status] = (failures[status] or 0) + 1
   end
end

function done(summary, latency, requests)
   local errors = summary.errors
   local exhausted_total = 0
   local sent_total = 0
   local statuses = {}
   for _, thread in ipairs(threads) do
      sent_total = sent_total + (thread:get("sent") or 0)
      exhausted_total = exhausted_total + (thread:get("exhausted") or 0)
      for status, count in pairs(thread:get("failures") or {}) do
         statuses[status] = (statuses[status] or 0) + count
      end
   end
   local codes = {}
   for status, count in pairs(statuses) do
      table.insert(codes, string.format('"%d": %d', status, count))
   end
   io.write(string.format(
      'BENCH-RESULT {"requests": %.0f, "duration_us": %.0f, "p50_us": %.0f, "p90_us": %.0f, '
         .. '"p99_us": %.0f, "connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, '
         .. '"timeout": %.0f, "exhausted": %.0f, "sent": %.0f, "codes": {%s}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), errors.connect, errors.read, errors.write, errors.status,
      errors.timeout, exhausted_total, sent_total, table.concat(codes, ", ")))
end
